"""The mock coder's new-module answers: a few small, shape-preserving 1-D blocks.

These are *answers* (candidate code), not prompt text. The campaign never execs
them directly: it sends them to the sandbox for the compile check and to code
mining, exactly as it would a real model's code.
"""

from __future__ import annotations

import random

from archlab.llm.mock.blocks import json_block

_BLOCKS = {
    "GatedConv1d": '''import torch
from torch import nn


class GatedConv1d(nn.Module):
    """A same-length 1-D convolution with a sigmoid gate (GLU-style)."""

    def __init__(self, channels: int = 16, kernel_size: int = 3):
        super().__init__()
        self.value = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.gate = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value(x) * torch.sigmoid(self.gate(x))
''',
    "ChannelMix1d": '''import torch
from torch import nn


class ChannelMix1d(nn.Module):
    """Pointwise channel mixing with a residual path, keeping the shape."""

    def __init__(self, channels: int = 16, expansion: int = 2):
        super().__init__()
        self.up = nn.Conv1d(channels, channels * expansion, 1)
        self.down = nn.Conv1d(channels * expansion, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(torch.relu(self.up(x)))
''',
    "SqueezeExcite1d": '''import torch
from torch import nn


class SqueezeExcite1d(nn.Module):
    """Channel re-weighting from the global average over the sequence."""

    def __init__(self, channels: int = 16, reduction: int = 4):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=-1)))))
        return x * weights.unsqueeze(-1)
''',
}


def write_module(prompt: str, rng: random.Random) -> dict:
    request = json_block(prompt, "REQUEST", {}) or {}
    name = rng.choice(sorted(_BLOCKS))
    why = request.get("direction") or "a cheap shape-preserving block to widen the op library"
    return {"name": name, "code": _BLOCKS[name], "rationale": f"{name}: {why}"}
