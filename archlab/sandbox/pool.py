"""Executors built from slots: a queue of requests, one dispatcher thread per slot.

A slot runs one evaluation at a time and never raises; the pool turns each
into a `concurrent.futures.Future[Result]` that always resolves to a Result.
`LocalExecutor` fills the slots with zygotes in bubblewrap jails on this
machine (`slot.py`); the Ray executor (`ray_executor.py`) fills them with Ray
actors, each owning the same kind of slot on a cluster node.

Each slot is started, restarted and stopped from its own dispatcher thread:
the jail dies with the thread that started it (`--die-with-parent` is a
parent-death signal, which Linux ties to the starting thread), so that thread
must live as long as the slot.

Thread safety: `submit` may be called from any thread; futures are resolved
by the slot threads (Future is itself thread-safe).
"""

from __future__ import annotations

import os
import queue
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

from archlab.records import Result
from archlab.sandbox import scratch
from archlab.sandbox.process import WorkerStartError
from archlab.sandbox.requests import EvalRequest, Limits
from archlab.sandbox.slot import LocalSlot, closed_result
from archlab.sandbox.tasks import Task, TaskError
from archlab.sandbox.walls import Sandbox, open_sandbox, print_notice


class Slot(Protocol):
    """One place where one evaluation runs at a time."""

    def start(self) -> None: ...  # may raise WorkerStartError

    def run(self, req: EvalRequest) -> Result: ...  # never raises

    def heal(self) -> None: ...  # after run: replace a dead worker; never raises

    def stop(self) -> None: ...

    def abort(self) -> None: ...  # kill a running evaluation now, from another thread


class SlotPool:
    """The Executor protocol over a list of slots: `submit`, `workers`, `close`, context manager."""

    def __init__(self, task: Task, slots: list[Slot]) -> None:
        self.task = task
        self.slots = slots
        self.workers = len(slots)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        started = time.perf_counter()
        self._start_errors: list[str] = []
        self._starting = threading.Barrier(len(slots) + 1)
        self._threads = [threading.Thread(target=self._serve, args=(slot,), name=f"archlab-slot-{i}", daemon=True)
                         for i, slot in enumerate(slots)]
        for thread in self._threads:
            thread.start()
        self._starting.wait()
        if self._start_errors:
            self._closed.set()
            for _ in self._threads:
                self._jobs.put(None)
            for thread in self._threads:
                thread.join()
            raise WorkerStartError(self._start_errors[0])
        self.cold_start_s = time.perf_counter() - started

    def submit(self, req: EvalRequest | dict) -> "Future[Result]":
        """Queue one evaluation; the future always resolves to a Result (never raises)."""
        future: Future[Result] = Future()
        try:
            req = req if isinstance(req, EvalRequest) else EvalRequest.model_validate(req)
        except Exception as exc:  # pydantic ValidationError: a malformed request is an invalid evaluation
            future.set_result(Result(status="failed", failure="invalid",
                                     error=f"malformed request: {' '.join(str(exc).split())[:300]}"))
            return future
        problem = self._check(req)
        if problem:
            future.set_result(Result(status="failed", failure="invalid", fidelity=req.fidelity, error=problem))
            return future
        with self._lock:
            if self._closed.is_set():
                future.set_result(closed_result(req, "the executor is closed"))
            else:
                self._jobs.put((req, future))
        return future

    def close(self, wait: bool = True) -> None:
        """Stop the pool. Queued evaluations resolve as cancelled; running ones finish (`wait`) or are killed."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
        self._cancel_queued()
        if not wait:
            for slot in self.slots:
                slot.abort()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()  # each thread stops its own slot on the way out
        self._cancel_queued()

    def __enter__(self) -> "SlotPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(wait=exc[0] is None)

    def _check(self, req: EvalRequest) -> str | None:
        if req.task != self.task.name:
            return f"request is for task {req.task!r} but this executor serves {self.task.name!r}"
        try:
            self.task.recipe.with_overrides(req.recipe_overrides)
        except TaskError as exc:
            return str(exc)
        return None

    def _serve(self, slot: Slot) -> None:
        try:
            slot.start()
        except Exception as exc:
            self._start_errors.append(" ".join(str(exc).split()))
        finally:
            self._starting.wait()
        try:
            self._dispatch(slot)
        finally:
            slot.stop()  # from the thread that started it

    def _dispatch(self, slot: Slot) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            req, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = slot.run(req)
            except Exception as exc:  # a slot must not raise; if one does, the pool still answers
                result = closed_result(req, f"executor error: {type(exc).__name__}: {exc}")
            if self._closed.is_set() and not result.ok and result.failure == "crashed":
                result.error = "the executor was closed during the evaluation\n" + result.error
            future.set_result(result)
            if not self._closed.is_set():
                slot.heal()

    def _cancel_queued(self) -> None:
        pending = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                pending.append(job)
        for req, future in pending:
            if future.set_running_or_notify_cancel():
                future.set_result(closed_result(req, "cancelled: the executor was closed before the evaluation started"))


class LocalExecutor(SlotPool):
    """A pool of `workers` zygotes in bubblewrap jails on this machine (default: one per CPU core).

    `jail`: None uses bubblewrap when it works here (otherwise says so in one
    line and falls back to weaker isolation that refuses model-written code
    unless `unsafe_sandbox`), True requires it, False turns it off.
    """

    def __init__(self, task: Task, workers: int | None = None, *, device: str = "auto",
                 limits: Limits | None = None, scratch_dir: str | Path | None = None,
                 isolate_network: bool | None = None, jail: bool | None = None, unsafe_sandbox: bool = False,
                 notice: Callable[[str], None] | None = print_notice) -> None:
        count = workers or os.cpu_count() or 1
        if count < 1:
            raise ValueError(f"workers must be at least 1, got {count}")
        self.limits = limits or Limits()
        parent = Path(scratch_dir) if scratch_dir is not None else None
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        self.stale_removed = scratch.remove_stale_roots(parent)
        self.scratch_root = scratch.make_root(parent=parent)
        try:
            self.sandbox: Sandbox = open_sandbox(task, self.scratch_root, device=device, limits=self.limits,
                                                 jail_mode=jail, unsafe_sandbox=unsafe_sandbox,
                                                 isolate_network=isolate_network, notice=notice)
            super().__init__(task, [LocalSlot(self.sandbox, i) for i in range(count)])
        except BaseException:
            self._remove_scratch()
            raise

    @property
    def jailed(self) -> bool:
        """Whether evaluations run inside bubblewrap."""
        return self.sandbox.jailed

    @property
    def isolation(self) -> str:
        """One line saying which walls stand."""
        return self.sandbox.isolation

    @property
    def isolate_network(self) -> bool:
        """Whether evaluations have no network (always inside a jail)."""
        return self.sandbox.jailed or self.sandbox.isolate_network

    @property
    def restarts(self) -> int:
        """How many zygotes were replaced since the pool started (after timeouts, crashes, forged replies)."""
        return sum(slot.restarts for slot in self.slots)

    def timings(self) -> dict[str, float]:
        """Median per-evaluation costs of the sandbox: the zygote's fork, and everything outside the child."""
        pairs = [t for slot in self.slots for t in slot.timings]
        if not pairs:
            return {}
        return {"fork_ms": statistics.median(f for f, _ in pairs),
                "overhead_ms": statistics.median(o for _, o in pairs), "evaluations": float(len(pairs))}

    def close(self, wait: bool = True) -> None:
        super().close(wait)
        self._remove_scratch()

    def _remove_scratch(self) -> None:
        shutil.rmtree(self.scratch_root, ignore_errors=True)
