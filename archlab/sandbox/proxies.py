"""Zero-cost proxies: score an untrained network from one batch, to screen before training.

- synflow (Tanaka et al., 2020): sum of |theta * dR/dtheta| with R the summed
  output of the network with absolute weights on an all-ones input; reported
  as its natural log, since the raw value overflows quickly with depth;
- naswot (Mellor et al., 2021): log-determinant of the kernel of binary
  activation patterns over the batch (how differently the untrained network
  separates the inputs);
- grad_norm (Abdelfattah et al., 2021): sum of per-parameter gradient norms
  of the cross-entropy loss on the batch.

Each proxy runs on its own deep copy of the model, so scoring never changes
what training later starts from. Non-finite scores are dropped (JSON has no
NaN), never reported as numbers.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
from torch import nn

from archlab.sandbox.data import load_splits
from archlab.sandbox.tasks import Task

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Mish, nn.Tanh, nn.Hardswish)


def score(arch, task: Task, seed: int = 0) -> dict[str, float]:
    """The contract entry point: build `arch` (a code-free tree) and score it on one seeded batch.

    Returns ``{"synflow", "naswot", "grad_norm", "proxy_s"}`` (a failed proxy is
    absent). Trees with mined ops are refused here, because building them runs
    candidate code: send an `EvalRequest` with ``fidelity=0`` to an executor
    instead, which scores them inside a sandbox worker.
    """
    from archlab.tools import Arch, build  # the tools room; imported lazily to keep this module light

    tree = arch if isinstance(arch, Arch) else Arch.model_validate(arch)
    torch.manual_seed(seed)
    model = build(tree, tuple(task.input_shape), task.num_classes)
    x, y = proxy_batch(task, seed)
    scores, elapsed = compute(model, x, y)
    return {**scores, "proxy_s": elapsed}


def proxy_batch(task: Task, seed: int, batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One seeded batch of training data (validation and test are never touched)."""
    splits = load_splits(task.data_file, task.val_fraction, task.split_seed)
    return sample_batch(splits.x_train, splits.y_train, batch_size or task.recipe.batch_size, seed)


def sample_batch(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, size: int, seed: int):
    """A seeded batch of at most `size` samples, as tensors."""
    idx = np.sort(np.random.default_rng(seed).permutation(len(y))[:size])
    xt = x[torch.from_numpy(idx).to(x.device)] if isinstance(x, torch.Tensor) else torch.from_numpy(x[idx])
    yt = y[torch.from_numpy(idx).to(y.device)] if isinstance(y, torch.Tensor) else torch.from_numpy(y[idx])
    return xt, yt


def compute(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, float], float]:
    """All three proxies on (x, y) and their total time in seconds."""
    start = time.perf_counter()
    scores = {"synflow": synflow(copy.deepcopy(model), tuple(x.shape[1:]), x.device),
              "naswot": naswot(copy.deepcopy(model), x),
              "grad_norm": grad_norm(copy.deepcopy(model), x, y)}
    return {k: v for k, v in scores.items() if math.isfinite(v)}, time.perf_counter() - start


def synflow(model: nn.Module, input_shape: tuple[int, ...], device: torch.device | str = "cpu") -> float:
    """log of the synaptic-flow score (data-free; double precision against overflow)."""
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.zero_grad(set_to_none=True)
    out = model(torch.ones(1, *input_shape, dtype=torch.float64, device=device))
    out.sum().backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in model.parameters() if p.grad is not None)
    return math.log(total) if total > 0 else float("-inf")


def naswot(model: nn.Module, x: torch.Tensor) -> float:
    """log|K| of the Hamming-similarity kernel of binary activation codes over the batch."""
    model = model.eval()
    n = len(x)
    kernel = torch.zeros(n, n, dtype=torch.float64, device=x.device)
    hooked = [m for m in model.modules() if isinstance(m, ACTIVATIONS)]
    if not hooked:  # no explicit activation modules: use every leaf module's output
        hooked = [m for m in model.modules() if not list(m.children())]

    def accumulate(_module: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor) and output.dim() >= 1 and len(output) == n:
            codes = (output.reshape(n, -1) > 0).double()
            kernel.add_(codes @ codes.T + (1 - codes) @ (1 - codes).T)

    handles = [m.register_forward_hook(accumulate) for m in hooked]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else float("-inf")


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Sum of the per-parameter gradient L2 norms of the loss on one batch."""
    model = model.train()
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    return float(sum(p.grad.norm() for p in model.parameters() if p.grad is not None))
