"""Fixtures for the memory's tests (the builders are in memory_builders.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archlab.knowledge import ExperimentRecord, Memory
from memory_builders import conv_net, failed, mlp, ok, record


@pytest.fixture
def memory(tmp_path: Path):
    with Memory(path=tmp_path / "index", embedder="hashing") as mem:
        yield mem


@pytest.fixture
def population() -> list[ExperimentRecord]:
    """Eight experiments of campaign alpha: CNNs of growing width, MLPs, failures."""
    return [
        record(1, mlp(64), ok(0.55, params=9000), analysis="plain MLP plateaus on shifted signals"),
        record(2, conv_net(16, 5), ok(0.80, params=4000), analysis="convolution helps a lot"),
        record(3, conv_net(32, 5), ok(0.86, params=12000), edit={"kind": "set_param", "path": "root.0.0",
                                                                 "fixed": {"channels": 32}}),
        record(4, conv_net(32, 5, blocks=3, residual=True), ok(0.91, params=30000),
               analysis="residual blocks let the deeper stack train", insights=["residuals help depth"]),
        record(5, conv_net(64, 9, blocks=3), failed("timeout", "wall-clock limit 5s hit")),
        record(6, conv_net(16, 99), failed("compile", "conv kernel 99 > length 40")),
        record(7, mlp(256, 4), ok(0.60, params=200000)),
        record(8, conv_net(16, 3), ok(0.78, params=3500), strategy="evolution"),
    ]
