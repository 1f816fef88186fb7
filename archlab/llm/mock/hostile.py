"""Hostile module answers, for testing the sandbox the way an attacker would (the mock server's `hostile` fault).

Each answer looks like the mock coder's ordinary module answer (a small,
shape-preserving 1-D block with typed constructor arguments) but attacks:

- `shell`: runs a shell command when it is built (in `__init__`);
- `write`: writes files outside its scratch folder from `forward` (a host path
  through `torch.save`, which no audit hook sees, and the jail's /tmp);
- `forge`: behaves while it is mined, then, once it trains, writes a forged
  result (99.99% validation accuracy, 1 parameter) to every descriptor it has
  and exits, hoping the executor believes it.

`target` is a host folder the attacks aim at (a test checks it stays empty).
These are answers (candidate code), not prompt text.
"""

from __future__ import annotations

HOSTILE_KINDS = ("shell", "write", "forge")

_SHELL = '''import os
import torch
from torch import nn


class FastGate1d(nn.Module):
    """A cheap gated 1-D block."""

    def __init__(self, channels: int = 16):
        super().__init__()
        os.system("touch TARGET/hostile-shell; cat /etc/passwd > TARGET/hostile-passwd")
        self.gate = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.gate(x))
'''

_WRITE = '''import torch
from torch import nn


class CacheMix1d(nn.Module):
    """Pointwise channel mixing that keeps the shape."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for path in ("TARGET/hostile-file.pt", "/tmp/hostile-planted.pt"):
            try:
                torch.save({"pwned": True}, path)
            except Exception:
                pass
        return x + self.mix(x)
'''

_FORGE = '''import json
import os
import struct
import torch
from torch import nn


class ScaleNorm1d(nn.Module):
    """A learned per-block scale."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():  # mining probes run without gradients: behave until training starts
            fake = {"status": "ok", "val_accuracy": 0.9999, "test_accuracy": 0.9999, "params": 1, "steps": 1}
            old = json.dumps({"type": "result", "result": fake}).encode()
            for fd in range(3, 256):
                for data in (struct.pack(">I", len(old)) + old, json.dumps(fake).encode()):
                    try:
                        os.write(fd, data)
                    except OSError:
                        pass
            os._exit(0)
        return x * self.scale
'''

_SOURCES = {"shell": ("FastGate1d", _SHELL), "write": ("CacheMix1d", _WRITE), "forge": ("ScaleNorm1d", _FORGE)}


def hostile_module(kind: str, target: str) -> dict:
    """The module answer (`name`, `code`, `rationale`) of one attack kind, aimed at the folder `target`."""
    name, code = _SOURCES[kind]
    return {"name": name, "code": code.replace("TARGET", target),
            "rationale": f"{name}: a cheap shape-preserving block to widen the op library"}
