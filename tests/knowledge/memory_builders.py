"""Builders for the memory's tests: trees, results, records, campaign folders.

A module of its own (not conftest.py, whose name tests/campaign uses too), so the two folders' tests run in one pytest call."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import torch

from archlab.knowledge import ExperimentRecord
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
