"""Cost metrics of a built module: parameters, FLOPs, CPU latency."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _example(input_shape: tuple[int, ...], batch: int) -> torch.Tensor:
    return torch.zeros(batch, *input_shape)


def count_flops(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass on one example, counted by torch.utils.flop_counter.

    PyTorch's counter covers matmul/conv/attention kernels (2 FLOPs per
    multiply-add) and ignores cheap elementwise ops, as is usual in NAS papers.
    """
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(_example(input_shape, 1))
        return int(counter.get_total_flops())
    finally:
        module.train(was_training)


def measure_latency(module: nn.Module, input_shape: tuple[int, ...], *, batch: int = 1,
                    repeats: int = 20, warmup: int = 3) -> float:
    """Median wall-clock milliseconds of one eval-mode forward pass on CPU."""
    was_training = module.training
    module.eval()
    x = _example(input_shape, batch)
    times = []
    try:
        with torch.no_grad():
            for i in range(warmup + repeats):
                start = time.perf_counter()
                module(x)
                if i >= warmup:
                    times.append((time.perf_counter() - start) * 1000.0)
    finally:
        module.train(was_training)
    return float(statistics.median(times))
