"""The trainer: seeded, deterministic on CPU, stops early on divergence, predicts but never scores.

Works on any `nn.Module` mapping a batch of inputs to class logits. It sees the
training labels (it must, to train) but never the labels of the validation or
test splits: at each learning-curve point it records the model's predicted
class ids on the validation inputs, and at the end the logits on validation
and test and the predictions on a seeded probe of the training set. The
trusted parent turns those into accuracies and losses (`grading.py`), so a
candidate cannot grade itself. Batches are drawn by index from a seeded numpy
generator, so the same seed gives the same batches.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from archlab.sandbox.tasks import TrainRecipe

EVAL_BATCH = 1024  # inference batch for prediction passes; bounded so large datasets fit
TRAIN_PROBE = 1000  # training samples predicted for train accuracy (see train_probe)


@dataclass(frozen=True)
class DeviceData:
    """What a sandbox may hold, as tensors on the training device: no validation or test labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    x_test: torch.Tensor

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], device: str | torch.device) -> "DeviceData":
        def put(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(device)

        return cls(put(arrays["x_train"]), put(arrays["y_train"]), put(arrays["x_val"]), put(arrays["x_test"]))

    def to(self, device: str | torch.device) -> "DeviceData":
        return DeviceData(self.x_train.to(device), self.y_train.to(device), self.x_val.to(device),
                          self.x_test.to(device))


@dataclass
class CurvePrediction:
    """One learning-curve point: mean training loss since the last point, validation predictions."""

    step: int
    train_loss: float
    val_pred: np.ndarray


@dataclass
class TrainOutcome:
    """What training produced. `diverged` means a NaN/inf loss stopped it early (no predictions then)."""

    steps: int
    train_s: float
    diverged: bool
    curve: list[CurvePrediction] = field(default_factory=list)
    val_logits: np.ndarray | None = None
    test_logits: np.ndarray | None = None
    probe_pred: np.ndarray | None = None


def make_optimizer(model: nn.Module, recipe: TrainRecipe) -> torch.optim.Optimizer:
    """The optimizer the recipe names."""
    params = [p for p in model.parameters() if p.requires_grad]
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)


def make_schedule(optimizer: torch.optim.Optimizer, recipe: TrainRecipe, steps: int):
    """Learning-rate schedule over the steps actually trained (a short run anneals fully too)."""
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, steps) / max(1, steps))))
    return None


def curve_steps(steps: int, eval_every: int) -> list[int]:
    """The steps at which `train` records a curve point (the parent expects exactly these)."""
    return [s for s in range(1, steps + 1) if s % eval_every == 0 or s == steps]


def train(model: nn.Module, data: DeviceData, recipe: TrainRecipe, steps: int, seed: int) -> TrainOutcome:
    """Train `model` for `steps` optimisation steps, then predict on validation, test and a train probe.

    A non-finite loss stops training at once (`diverged`); no predictions are
    made from a diverged model. Test inputs are predicted exactly once, at the
    end, and only reported: nothing in here (or in the parent) selects on them.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = make_optimizer(model, recipe)
    schedule = make_schedule(optimizer, recipe, steps)
    loss_fn = nn.CrossEntropyLoss()
    n = len(data.y_train)
    batch = min(recipe.batch_size, n)
    order, cursor = rng.permutation(n), 0
    curve: list[CurvePrediction] = []
    window_loss, window_steps, done = 0.0, 0, 0
    val_logits: np.ndarray | None = None
    model.train()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        if cursor + batch > n:
            order, cursor = rng.permutation(n), 0
        idx = torch.from_numpy(order[cursor:cursor + batch]).to(data.x_train.device)
        cursor += batch
        loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
        value = float(loss.detach())
        if not math.isfinite(value):  # not recorded in the curve: JSON has no NaN
            return TrainOutcome(steps=step - 1, train_s=time.perf_counter() - start, diverged=True, curve=curve)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        done = step
        window_loss, window_steps = window_loss + value, window_steps + 1
        if step % recipe.eval_every == 0 or step == steps:
            val_logits = predict(model, data.x_val)
            curve.append(CurvePrediction(step=step, train_loss=window_loss / window_steps,
                                         val_pred=val_logits.argmax(axis=1)))
            window_loss, window_steps = 0.0, 0
            model.train()
    train_s = time.perf_counter() - start  # the last curve point already predicted validation with the final model
    probe = train_probe(n, seed).to(data.x_train.device)
    return TrainOutcome(steps=done, train_s=train_s, diverged=False, curve=curve, val_logits=val_logits,
                        test_logits=predict(model, data.x_test),
                        probe_pred=predict(model, data.x_train[probe]).argmax(axis=1))


def train_probe(n: int, seed: int) -> torch.Tensor:
    """Indices of the training samples predicted for train accuracy: at most TRAIN_PROBE, seeded.

    Train accuracy only feeds the train/validation gap check; a fixed subset
    keeps its cost small next to a short training run. The parent draws the
    same indices to look up their labels.
    """
    return torch.from_numpy(np.sort(np.random.default_rng(seed).permutation(n)[:TRAIN_PROBE]))


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Float32 logits of `model` on `x`, in eval mode, as a (N, classes) numpy array."""
    model.eval()
    parts = [model(x[lo:lo + EVAL_BATCH]).float().cpu() for lo in range(0, len(x), EVAL_BATCH)]
    return torch.cat(parts).numpy() if parts else np.zeros((0, 0), dtype=np.float32)
