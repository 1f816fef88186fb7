"""One evaluation, start to finish, inside a worker: tree JSON in, `Result` out, never raises.

Order: check the request and the tree (`invalid`), build it (`compile`: this
is where a mined op's source runs first), measure cost (params, FLOPs,
latency), optionally score zero-cost proxies, then train (`diverged` on a
NaN/inf loss). Any other exception becomes `crashed`, an exhausted memory
limit `memory`; each with the exception's one line plus the traceback tail.
`timeout` and a dead worker are decided by the parent, which alone can see them.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from dataclasses import dataclass

import torch

from archlab.errors import one_line as _one_line
from archlab.records import FailureKind, Result
from archlab.sandbox import proxies
from archlab.sandbox.data import load_splits
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.tasks import Task, TaskError
from archlab.sandbox.trainer import DeviceData, train

TRACEBACK_FRAMES = 6
OOM_PATTERN = re.compile(r"can't allocate memory|not enough memory|out of memory|Cannot allocate memory", re.I)
LATENCY_REPEATS = 10  # median of 10 single-example forwards: stable enough, cheap next to training


@dataclass(frozen=True)
class Workbench:
    """What a warm worker holds between evaluations: the task and its data on the device."""

    task: Task
    data: DeviceData
    device: str


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; anything else is used as given."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def prepare(task: Task, device: str = "auto") -> Workbench:
    """Load the task's arrays once and place them on the device."""
    resolved = resolve_device(device)
    splits = load_splits(task.data_file, task.val_fraction, task.split_seed)
    return Workbench(task=task, data=DeviceData.from_splits(splits, resolved), device=resolved)


def evaluate(req: EvalRequest, bench: Workbench) -> Result:
    """Train and score `req.arch` on the bench's task; every outcome is a Result."""
    start = time.perf_counter()
    facts: dict = {"fidelity": req.fidelity, "device": bench.device}
    try:
        result = _run(req, bench, facts)
    except BaseException as exc:  # candidate code may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        result = failure(failure_kind(exc), exc, **facts)
    result.wall_s = time.perf_counter() - start
    return result


def _run(req: EvalRequest, bench: Workbench, facts: dict) -> Result:
    from archlab.tools import Arch, ArchError, build, count_flops, count_params, measure_latency, validate

    task = bench.task
    if req.kind == "mine":
        return mine_source(req.source, facts)
    if req.task != task.name:
        return failed("invalid", f"request is for task {req.task!r} but this worker serves {task.name!r}", **facts)
    try:
        recipe = task.recipe.with_overrides(req.recipe_overrides)
    except TaskError as exc:
        return failed("invalid", str(exc), **facts)
    try:
        arch = Arch.model_validate(req.arch)
    except (ArchError, ValueError) as exc:
        return failed("invalid", f"malformed tree: {_one_line(exc)}", **facts)
    problems = validate(arch, tuple(task.input_shape))
    if problems:
        return failed("invalid", "; ".join(problems[:3]), **facts)
    torch.manual_seed(req.seed)
    try:
        model = build(arch, tuple(task.input_shape), task.num_classes, allow_code=True)
    except Exception as exc:  # ArchError from the tools room, or whatever mined source raised
        exhausted = "MemoryError" in str(exc) or OOM_PATTERN.search(str(exc))
        return failure("memory" if exhausted else "compile", exc, **facts)
    facts["params"] = count_params(model)
    facts["flops"] = _optional(lambda: count_flops(model, tuple(task.input_shape)))
    facts["latency_ms"] = measure_latency(model, tuple(task.input_shape), repeats=LATENCY_REPEATS)
    breach = constraint_breach(req, facts)
    if breach:
        return failed("constraint", breach, **facts)
    model.to(bench.device)
    if req.proxies or req.fidelity == 0:
        x, y = proxies.sample_batch(bench.data.x_train, bench.data.y_train, recipe.batch_size, req.seed)
        scores, facts["proxy_s"] = proxies.compute(model, x, y)
        facts["proxies"] = scores
    if req.fidelity == 0:
        return Result(status="ok", steps=0, **facts)
    steps = max(1, round(req.fidelity * recipe.steps))
    outcome = train(model, bench.data, recipe, steps, req.seed)
    facts.update(steps=outcome.steps, train_s=outcome.train_s, curve=outcome.curve)
    if outcome.diverged:
        return failed("diverged", f"loss became NaN or infinite after {outcome.steps} steps", **facts)
    return Result(status="ok", train_accuracy=outcome.train_accuracy, val_accuracy=outcome.val_accuracy,
                  val_loss=outcome.val_loss, test_accuracy=outcome.test_accuracy, test_loss=outcome.test_loss,
                  **facts)


def mine_source(source: str, facts: dict) -> Result:
    """Compile-check and mine a coder's module here, in the worker; `compile` on any failure."""
    from archlab.tools import MiningError, mine

    facts = {**facts, "fidelity": 0.0}
    try:
        report = mine(source=source)
    except MiningError as exc:
        return failed("compile", str(exc), **facts)
    reasons = "; ".join(f"{name}: {why}" for name, why in sorted(report.failures.items()))
    if not report.ops:
        return failed("compile", f"no class could be mined ({reasons})", **facts)
    return Result(status="ok", error=_one_line(reasons), steps=0,
                  mined_ops=[op.model_dump(mode="json") for op in report.ops], **facts)


def constraint_breach(req: EvalRequest, facts: dict) -> str | None:
    """One line naming the first limit of `req.constraints` the built module breaks."""
    limits = req.constraints
    if limits is None:
        return None
    if limits.max_params is not None and facts["params"] > limits.max_params:
        return f"{facts['params']:,} parameters > max {limits.max_params:,}"
    if limits.max_flops is not None and facts.get("flops") is not None and facts["flops"] > limits.max_flops:
        return f"{facts['flops']:,} FLOPs > max {limits.max_flops:,}"
    if limits.max_latency_ms is not None and facts["latency_ms"] > limits.max_latency_ms:
        return f"latency {facts['latency_ms']:.2f} ms > max {limits.max_latency_ms:g} ms"
    return None


def failed(kind: FailureKind, message: str, **facts) -> Result:
    """A failed Result with a one-line reason."""
    return Result(status="failed", failure=kind, error=_one_line(message), **facts)


def failure(kind: FailureKind, exc: BaseException, **facts) -> Result:
    """A failed Result from an exception: its one line, then the traceback tail."""
    frames = traceback.extract_tb(exc.__traceback__)
    # torch's own module-dispatch frames say nothing about the candidate: keep the others
    useful = [f for f in frames if f"{os.sep}torch{os.sep}" not in f.filename] or frames
    tail = "".join(traceback.format_list(useful[-TRACEBACK_FRAMES:])).rstrip().splitlines()
    message = _one_line(exc)
    head = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return Result(status="failed", failure=kind, error="\n".join([head, "Traceback (innermost last):", *tail]),
                  **facts)


def failure_kind(exc: BaseException) -> FailureKind:
    """`memory` for an exhausted allocation (Python or torch), `crashed` for anything else."""
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
