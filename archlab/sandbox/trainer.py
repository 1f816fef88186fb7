"""The trainer: seeded, deterministic on CPU, stops early on divergence, returns the learning curve.

Works on any `nn.Module` mapping a batch of inputs to class logits. The data
are small enough to live on the device as whole tensors; batches are drawn by
index from a seeded numpy generator, so the same seed gives the same batches.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from archlab.records import CurvePoint
from archlab.sandbox.data import Splits
from archlab.sandbox.tasks import TrainRecipe

EVAL_BATCH = 1024  # inference batch for accuracy passes; bounded so large datasets fit
TRAIN_PROBE = 1000  # training samples scored for train accuracy (see train_probe)


@dataclass(frozen=True)
class DeviceData:
    """The splits as tensors on the training device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @classmethod
    def from_splits(cls, splits: Splits, device: str | torch.device) -> "DeviceData":
        def put(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(device)

        return cls(put(splits.x_train), put(splits.y_train), put(splits.x_val), put(splits.y_val),
                   put(splits.x_test), put(splits.y_test))


@dataclass
class TrainOutcome:
    """What training produced. `diverged` means a NaN/inf loss stopped it early."""

    steps: int
    train_s: float
    diverged: bool
    curve: list[CurvePoint] = field(default_factory=list)
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    val_loss: float | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None


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


def train(model: nn.Module, data: DeviceData, recipe: TrainRecipe, steps: int, seed: int) -> TrainOutcome:
    """Train `model` for `steps` optimisation steps, then score it on train, validation and test.

    A non-finite loss stops training at once (`diverged`); no metrics are
    computed from a diverged model. The test split is scored exactly once, at
    the end, and only reported: nothing in here selects on it.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = make_optimizer(model, recipe)
    schedule = make_schedule(optimizer, recipe, steps)
    loss_fn = nn.CrossEntropyLoss()
    n = len(data.y_train)
    batch = min(recipe.batch_size, n)
    order, cursor = rng.permutation(n), 0
    curve: list[CurvePoint] = []
    window_loss, window_steps, done = 0.0, 0, 0
    val_acc, val_loss = None, float("nan")
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
            val_acc, val_loss = evaluate(model, data.x_val, data.y_val)
            curve.append(CurvePoint(step=step, train_loss=window_loss / window_steps, val_accuracy=val_acc))
            window_loss, window_steps = 0.0, 0
            model.train()
    train_s = time.perf_counter() - start  # the last curve point already scored the final model on validation
    if not math.isfinite(val_loss):
        return TrainOutcome(steps=done, train_s=train_s, diverged=True, curve=curve)
    probe = train_probe(n, seed)
    train_acc, _ = evaluate(model, data.x_train[probe], data.y_train[probe])
    test_acc, test_loss = evaluate(model, data.x_test, data.y_test)
    return TrainOutcome(steps=done, train_s=train_s, diverged=False, curve=curve, train_accuracy=train_acc,
                        val_accuracy=val_acc, val_loss=val_loss, test_accuracy=test_acc, test_loss=test_loss)


def train_probe(n: int, seed: int) -> torch.Tensor:
    """Indices of the training samples scored for train accuracy: at most TRAIN_PROBE, seeded.

    Train accuracy only feeds the train/validation gap check; a fixed subset
    keeps its cost small next to a short training run.
    """
    return torch.from_numpy(np.sort(np.random.default_rng(seed).permutation(n)[:TRAIN_PROBE]))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(accuracy in [0, 1], mean cross-entropy) of `model` on (x, y), in eval mode."""
    model.eval()
    correct, total_loss = 0, 0.0
    for lo in range(0, len(y), EVAL_BATCH):
        logits = model(x[lo:lo + EVAL_BATCH])
        target = y[lo:lo + EVAL_BATCH]
        total_loss += float(nn.functional.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(dim=1) == target).sum())
    return correct / len(y), total_loss / len(y)
