"""Executors built from slots: a queue of requests, one dispatcher thread per slot.

A slot runs one evaluation at a time and never raises; the pool turns each
into a `concurrent.futures.Future[Result]` that always resolves to a Result.
`LocalExecutor` fills the slots with sandboxed worker subprocesses on this
machine; the Ray executor (`ray_executor.py`) fills them with Ray actors, each
owning the same kind of worker on a cluster node.

Thread safety: `submit` may be called from any thread; futures are resolved
by the slot threads (Future is itself thread-safe).
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

from archlab.records import Result
from archlab.sandbox.process import WorkerProcess, WorkerStartError, network_isolation_available
from archlab.sandbox.requests import EvalRequest, Limits
from archlab.sandbox.tasks import Task, TaskError

RESTART_BACKOFF_S = (0.5, 2.0, 5.0)  # pauses between attempts to replace a worker that will not start


class Slot(Protocol):
    """One place where one evaluation runs at a time."""

    def start(self) -> None: ...  # may raise WorkerStartError

    def run(self, req: EvalRequest) -> Result: ...  # never raises

    def heal(self) -> None: ...  # after run: replace a dead worker; never raises

    def stop(self) -> None: ...

    def abort(self) -> None: ...  # kill a running evaluation now, from another thread


def closed_result(req: EvalRequest, why: str) -> Result:
    return Result(status="failed", failure="crashed", fidelity=req.fidelity, error=why)


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
        self._start_all()
        self.cold_start_s = time.perf_counter() - started
        self._threads = [threading.Thread(target=self._serve, args=(slot,), name=f"archlab-slot-{i}", daemon=True)
                         for i, slot in enumerate(slots)]
        for thread in self._threads:
            thread.start()

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
            thread.join()
        for slot in self.slots:
            slot.stop()
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

    def _start_all(self) -> None:
        errors: list[str] = []
        threads = [threading.Thread(target=self._start_one, args=(slot, errors)) for slot in self.slots]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            for slot in self.slots:
                slot.stop()
            raise WorkerStartError(errors[0])

    @staticmethod
    def _start_one(slot: Slot, errors: list[str]) -> None:
        try:
            slot.start()
        except Exception as exc:
            errors.append(" ".join(str(exc).split()))

    def _serve(self, slot: Slot) -> None:
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


class LocalSlot:
    """A slot holding one sandboxed worker subprocess, replaced whenever it dies."""

    def __init__(self, task: Task, scratch_root: Path, index: int, *, device: str, limits: Limits,
                 isolate_network: bool) -> None:
        self.task, self.scratch_root, self.index = task, scratch_root, index
        self.device, self.limits, self.isolate_network = device, limits, isolate_network
        self.generation = 0
        self.restarts = 0
        self.worker: WorkerProcess | None = None

    def start(self) -> None:
        self.generation += 1
        scratch = self.scratch_root / f"worker{self.index}-{self.generation}"
        self.worker = WorkerProcess(self.task, scratch, device=self.device, memory_mb=self.limits.memory_mb,
                                    threads=self.limits.threads, isolate_network=self.isolate_network)
        self.worker.start()

    def run(self, req: EvalRequest) -> Result:
        if self.worker is None or not self.worker.alive:
            try:
                self.start()
            except WorkerStartError as exc:
                return closed_result(req, str(exc))
        capped = req.model_copy(update={"limits": req.limits.model_copy(
            update={"memory_mb": min(req.limits.memory_mb, self.limits.memory_mb)})})
        return self.worker.run(capped)

    def heal(self) -> None:
        if self.worker is not None and self.worker.alive:
            self.worker.clean_scratch()
            return
        dead = self.worker
        for pause in (0.0, *RESTART_BACKOFF_S):
            time.sleep(pause)
            try:
                self.start()
                self.restarts += 1
                break
            except WorkerStartError:
                continue
        if dead is not None:
            shutil.rmtree(dead.scratch, ignore_errors=True)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def abort(self) -> None:
        if self.worker is not None:
            self.worker.signal_kill()


class LocalExecutor(SlotPool):
    """A pool of `workers` sandboxed worker subprocesses on this machine (default: one per CPU core)."""

    def __init__(self, task: Task, workers: int | None = None, *, device: str = "auto",
                 limits: Limits | None = None, scratch_dir: str | Path | None = None,
                 isolate_network: bool | None = None) -> None:
        count = workers or os.cpu_count() or 1
        if count < 1:
            raise ValueError(f"workers must be at least 1, got {count}")
        self.limits = limits or Limits()
        self.isolate_network = network_isolation_available() if isolate_network is None else isolate_network
        self._own_scratch = scratch_dir is None
        self.scratch_root = Path(tempfile.mkdtemp(prefix="archlab-sandbox-")) if scratch_dir is None \
            else Path(scratch_dir)
        self.scratch_root.mkdir(parents=True, exist_ok=True)
        slots = [LocalSlot(task, self.scratch_root, i, device=device, limits=self.limits,
                           isolate_network=self.isolate_network) for i in range(count)]
        try:
            super().__init__(task, slots)
        except BaseException:
            self._remove_scratch()
            raise

    @property
    def restarts(self) -> int:
        """How many workers were replaced since the pool started (after timeouts, crashes, OOM)."""
        return sum(slot.restarts for slot in self.slots)

    def close(self, wait: bool = True) -> None:
        super().close(wait)
        self._remove_scratch()

    def _remove_scratch(self) -> None:
        if self._own_scratch:
            shutil.rmtree(self.scratch_root, ignore_errors=True)
