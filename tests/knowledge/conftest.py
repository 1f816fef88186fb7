"""Shared builders for the memory's tests: trees, results, records, campaign folders."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import torch

from archlab.knowledge import ExperimentRecord, Memory
from archlab.records import Result

torch.set_num_threads(1)

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def leaf(op: str, **params) -> dict:
    return {"op": op, "params": params, "children": []}


def node(op: str, *children: dict, **params) -> dict:
    return {"op": op, "params": params, "children": list(children)}


def conv_net(channels: int = 16, kernel: int = 5, blocks: int = 1, residual: bool = False) -> dict:
    """A small 1-D CNN tree in the Arch JSON shape of CONTRACTS.md."""
    body = [leaf("conv1d", channels=channels, kernel=kernel), leaf("batchnorm"), leaf("relu")]
    block = node("residual", node("seq", *body)) if residual else node("seq", *body)
    return {"root": node("seq", *([block] * blocks), leaf("globalpool"), leaf("linear", features=10)), "mined": {}}


def mlp(width: int = 64, layers: int = 2) -> dict:
    hidden = [child for _ in range(layers) for child in (leaf("linear", features=width), leaf("relu"))]
    return {"root": node("seq", *hidden, leaf("linear", features=10)), "mined": {}}


def ok(val_accuracy: float, params: int = 5000, flops: int = 50_000, fidelity: float = 1.0) -> Result:
    return Result(status="ok", val_accuracy=val_accuracy, val_loss=1 - val_accuracy,
                  params=params, flops=flops, fidelity=fidelity, steps=100, wall_s=1.0)


def failed(kind: str, error: str = "boom", fidelity: float = 1.0) -> Result:
    return Result(status="failed", failure=kind, error=f"{error}\nTraceback (most recent call last): ...",
                  fidelity=fidelity)


def record(number: int, arch: dict, result: Result, campaign: str = "alpha", **fields) -> ExperimentRecord:
    fields.setdefault("arch_hash", hashlib.sha1(json.dumps(arch, sort_keys=True).encode()).hexdigest())
    return ExperimentRecord(
        id=f"e{number:04d}", campaign=campaign, arch=arch, result=result,
        created_at=START + timedelta(minutes=number), task="mnist1d", **fields,
    )


def write_campaign(folder: Path, records: list[ExperimentRecord], insights: list[str] = ()) -> Path:
    """A campaign folder as the campaign writes it (only the files the memory reads)."""
    for rec in records:
        exp = folder / "experiments" / rec.id
        exp.mkdir(parents=True, exist_ok=True)
        (exp / "record.json").write_text(rec.model_dump_json(indent=2))
        (exp / "arch.json").write_text(json.dumps(rec.arch))
    (folder / "insights.json").write_text(json.dumps(list(insights)))
    return folder


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
