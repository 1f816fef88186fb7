"""One evaluation inside the forked child: tree JSON in, an untrusted `ChildReport` out, never raises.

Order: check the request and the tree (`invalid`), build it (`compile`: this
is where a mined op's source runs first), measure cost (params, FLOPs,
latency: claims the parent checks), optionally score zero-cost proxies, then
train (`diverged` on a NaN/inf loss) and predict. Any other exception becomes
`crashed`, an exhausted memory limit `memory`, a refusal of the audit hook
`sandbox`; each with the exception's one line plus the traceback tail.
`timeout`, a dead child and every metric are decided by the parent, which
alone can see them or holds the labels.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from archlab.errors import one_line
from archlab.records import FailureKind
from archlab.sandbox import proxies
from archlab.sandbox.guard import SandboxViolation
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.tasks import Task, TaskError
from archlab.sandbox.trainer import DeviceData, train
from archlab.sandbox.wire import ChildReport, CurveReport, WireArray, failed_report

TRACEBACK_FRAMES = 6
OOM_PATTERN = re.compile(r"can't allocate memory|not enough memory|out of memory|Cannot allocate memory", re.I)
LATENCY_REPEATS = 10  # median of 10 single-example forwards: stable enough, cheap next to training
WEIGHTS_NAME = "weights.safetensors"  # in the child's scratch folder; the zygote ships it to the parent


@dataclass(frozen=True)
class Workbench:
    """What a warm zygote holds between evaluations: the task and its label-free data on the device."""

    task: Task
    data: DeviceData
    device: str


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; anything else is used as given."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def prepare(task: Task, device: str = "cpu") -> Workbench:
    """Load the task's label-free arrays once (on the CPU: a forked child moves them to a GPU itself)."""
    with np.load(task.data_file, allow_pickle=False) as arrays:
        data = DeviceData.from_arrays({k: arrays[k] for k in arrays.files}, "cpu")
    return Workbench(task=task, data=data, device=device)


def evaluate(req: EvalRequest, bench: Workbench, scratch: Path) -> ChildReport:
    """Train `req.arch` on the bench's task and predict; every outcome is a ChildReport."""
    claims: dict = {"device": bench.device}
    try:
        return _run(req, bench, scratch, claims)
    except BaseException as exc:  # candidate code may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        return failure(failure_kind(exc), exc, **claims)


def _run(req: EvalRequest, bench: Workbench, scratch: Path, claims: dict) -> ChildReport:
    from archlab.tools import Arch, ArchError, build, count_flops, count_params, measure_latency, validate

    task = bench.task
    if req.kind == "mine":
        return mine_source(req.source, claims)
    if req.task != task.name:
        return failed_report("invalid", f"request is for task {req.task!r} but this worker serves {task.name!r}",
                             **claims)
    try:
        recipe = task.recipe.with_overrides(req.recipe_overrides)
    except TaskError as exc:
        return failed_report("invalid", str(exc), **claims)
    try:
        arch = Arch.model_validate(req.arch)
    except (ArchError, ValueError) as exc:
        return failed_report("invalid", f"malformed tree: {one_line(exc)}", **claims)
    problems = validate(arch, tuple(task.input_shape))
    if problems:
        return failed_report("invalid", "; ".join(problems[:3]), **claims)
    torch.manual_seed(req.seed)
    try:
        model = build(arch, tuple(task.input_shape), task.num_classes, allow_code=True)
    except Exception as exc:  # ArchError from the tools room, or whatever mined source raised
        if isinstance(exc, SandboxViolation) or "SandboxViolation" in str(exc):
            return failure("sandbox", exc, **claims)
        exhausted = "MemoryError" in str(exc) or OOM_PATTERN.search(str(exc))
        return failure("memory" if exhausted else "compile", exc, **claims)
    claims["params"] = count_params(model)
    claims["flops"] = _optional(lambda: count_flops(model, tuple(task.input_shape)))
    claims["latency_ms"] = measure_latency(model, tuple(task.input_shape), repeats=LATENCY_REPEATS)
    breach = constraint_breach(req, claims)
    if breach:
        return failed_report("constraint", breach, **claims)
    data = bench.data if bench.device == "cpu" else bench.data.to(bench.device)
    model.to(bench.device)
    if req.proxies or req.fidelity == 0:
        x, y = proxies.sample_batch(data.x_train, data.y_train, recipe.batch_size, req.seed)
        scores, claims["proxy_s"] = proxies.compute(model, x, y)
        claims["proxies"] = scores
    if req.fidelity == 0:
        return ChildReport(status="ok", **claims)
    steps = max(1, round(req.fidelity * recipe.steps))
    outcome = train(model, data, recipe, steps, req.seed)
    curve = [CurveReport(step=p.step, train_loss=p.train_loss, val_pred=WireArray.encode(p.val_pred))
             for p in outcome.curve]
    claims.update(steps=outcome.steps, train_s=outcome.train_s, curve=curve)
    if outcome.diverged:
        return ChildReport(status="ok", diverged=True, **claims)
    if req.weights_path:
        save_weights(model, scratch / WEIGHTS_NAME)
        claims["weights"] = True
    return ChildReport(status="ok", val_logits=WireArray.encode(outcome.val_logits),
                       test_logits=WireArray.encode(outcome.test_logits),
                       probe_pred=WireArray.encode(outcome.probe_pred), **claims)


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """The trained `state_dict` as safetensors (no pickle), naming the trainable parameters in its metadata."""
    from safetensors.torch import save_file

    state = {name: t.detach().cpu().contiguous().clone() for name, t in model.state_dict().items()}
    params = [name for name, p in model.named_parameters() if p.requires_grad]
    save_file(state, str(path), metadata={"archlab.parameters": json.dumps(params)})


def mine_source(source: str, claims: dict) -> ChildReport:
    """Compile-check and mine a coder's module here, in the child; `compile` on any failure."""
    from archlab.tools import MiningError, mine

    try:
        report = mine(source=source)
    except MiningError as exc:
        kind: FailureKind = "sandbox" if "SandboxViolation" in str(exc) else "compile"
        return failed_report(kind, str(exc), **claims)
    reasons = "; ".join(f"{name}: {why}" for name, why in sorted(report.failures.items()))
    if not report.ops:
        kind = "sandbox" if "SandboxViolation" in reasons else "compile"
        return failed_report(kind, f"no class could be mined ({reasons})", **claims)
    return ChildReport(status="ok", error=one_line(reasons), mined_ops=[op.model_dump(mode="json") for op in report.ops],
                       **claims)


def constraint_breach(req: EvalRequest, facts: dict) -> str | None:
    """One line naming the first limit of `req.constraints` the module breaks (params, FLOPs, latency)."""
    limits = req.constraints
    if limits is None:
        return None
    if limits.max_params is not None and facts.get("params") is not None and facts["params"] > limits.max_params:
        return f"{facts['params']:,} parameters > max {limits.max_params:,}"
    if limits.max_flops is not None and facts.get("flops") is not None and facts["flops"] > limits.max_flops:
        return f"{facts['flops']:,} FLOPs > max {limits.max_flops:,}"
    if limits.max_latency_ms is not None and facts.get("latency_ms") is not None \
            and facts["latency_ms"] > limits.max_latency_ms:
        return f"latency {facts['latency_ms']:.2f} ms > max {limits.max_latency_ms:g} ms"
    return None


def failure(kind: FailureKind, exc: BaseException, **claims) -> ChildReport:
    """A failed report from an exception: its one line, then the traceback tail."""
    frames = traceback.extract_tb(exc.__traceback__)
    # torch's own module-dispatch frames say nothing about the candidate: keep the others
    useful = [f for f in frames if f"{os.sep}torch{os.sep}" not in f.filename] or frames
    tail = "".join(traceback.format_list(useful[-TRACEBACK_FRAMES:])).rstrip().splitlines()
    message = one_line(exc)
    head = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return failed_report(kind, "\n".join([head, "Traceback (innermost last):", *tail]), **claims)


def failure_kind(exc: BaseException) -> FailureKind:
    """`sandbox` for a refused operation, `memory` for an exhausted allocation, `crashed` for anything else."""
    if isinstance(exc, SandboxViolation):
        return "sandbox"
    oom_types = (MemoryError,) + ((torch.OutOfMemoryError,) if hasattr(torch, "OutOfMemoryError") else ())
    if isinstance(exc, oom_types) or (isinstance(exc, RuntimeError) and OOM_PATTERN.search(str(exc))):
        return "memory"
    return "crashed"


def _optional(measure):
    """A cost figure that some exotic op may not support: None rather than a failed evaluation."""
    try:
        return measure()
    except Exception:
        return None

