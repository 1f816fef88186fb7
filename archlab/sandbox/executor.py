"""The one interface the campaign uses to evaluate candidates, and the factory behind it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from archlab.records import Result
from archlab.sandbox.requests import EvalRequest, Limits
from archlab.sandbox.tasks import Task, TaskError, load_task
from archlab.sandbox.walls import print_notice


@runtime_checkable
class Executor(Protocol):
    """Evaluates requests asynchronously; futures always resolve to a Result, never raise."""

    workers: int

    def submit(self, req: EvalRequest) -> "Future[Result]": ...

    def close(self) -> None: ...

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc: object) -> None: ...


def make_executor(task: str | Task, kind: Literal["local", "ray"] = "local", workers: int | None = None,
                  address: str | None = None, cache_dir: str | Path | None = None, device: str = "auto",
                  limits: Limits | None = None, isolate_network: bool | None = None, *,
                  unsafe_sandbox: bool = False, jail: bool | None = None,
                  notice: Callable[[str], None] | None = print_notice) -> Executor:
    """An executor serving `task` (``mnist1d``, ``npz:PATH`` or ``table:PATH``, or a `Task`
    the caller already loaded with `load_task`, which is then not loaded again).

    `kind="local"`: a pool of `workers` zygotes, each in a bubblewrap jail,
    forking one fresh process per evaluation (default one per CPU core).
    `kind="ray"`: the same slots hosted by Ray actors on the cluster at
    `address` (``None`` starts or joins a local Ray instance). `limits` caps
    every request (its `memory_mb` is the workers' hard memory cap; a request
    asking for more gets the cap). `device="auto"` trains on a GPU when the
    parent sees one.

    The jail: `jail=None` uses bubblewrap when it works here; when it does not
    (not installed, user namespaces refused), `notice` gets one line saying so
    and requests that would run model-written code (mining, trees with mined
    ops) fail as `sandbox` failures unless `unsafe_sandbox=True`; trees of
    built-in ops still train. `jail=True` requires the jail (WorkerStartError),
    `jail=False` turns it off (tests of the fallback). `isolate_network` only
    matters without a jail (``unshare -rn``; None: when the kernel allows it).

    The task is checked here, in the caller's process, before any worker
    starts: a bad task raises `TaskError` (one line) and starts nothing.
    Table tasks get the lookup executor of `archlab.sandbox.table`.
    """
    if kind not in ("local", "ray"):
        raise TaskError(f"unknown executor kind {kind!r}: expected local or ray")
    if workers is not None and workers < 1:
        raise TaskError(f"workers must be at least 1, got {workers}")
    resolved = task if isinstance(task, Task) else load_task(task, cache_dir)
    if resolved.kind == "lookup":
        from archlab.sandbox.table import LookupExecutor  # lazy: another room's module

        return LookupExecutor(resolved.data_file, workers=workers or 1)
    if kind == "ray":
        from archlab.sandbox.ray_executor import RayExecutor  # lazy: ray is an optional dependency

        return RayExecutor(resolved, workers=workers, address=address, device=device, limits=limits,
                           isolate_network=isolate_network, jail=jail, unsafe_sandbox=unsafe_sandbox)
    from archlab.sandbox.pool import LocalExecutor

    return LocalExecutor(resolved, workers=workers, device=device, limits=limits, isolate_network=isolate_network,
                         jail=jail, unsafe_sandbox=unsafe_sandbox, notice=notice)
