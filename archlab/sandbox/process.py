"""One sandboxed worker subprocess, seen from the parent: start it, hand it requests, kill it.

The parent owns the walls a process cannot put up around itself: a fresh
network namespace with no interfaces (``unshare -rn``, when the kernel allows
it), a whitelisted environment, a scratch folder as working directory, its
own process group (so a kill takes everything it started), and the
wall-clock limit: past `time_s` the worker is killed with SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import archlab
from archlab.records import Result
from archlab.sandbox import guard, protocol
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.tasks import Task

START_TIMEOUT_S = 180.0  # importing torch on a loaded 2-core machine can take a while
LOG_NAME = "worker.log"
STDERR_TAIL_LINES = 12


class WorkerStartError(RuntimeError):
    """A worker could not be started; `str()` is one line."""


def network_isolation_available() -> bool:
    """Whether ``unshare -rn`` works here (it needs user namespaces; Docker often forbids them)."""
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class WorkerProcess:
    """A warm worker subprocess. Not thread-safe: one caller (its pool slot) at a time."""

    def __init__(self, task: Task, scratch: Path, *, device: str, memory_mb: int, threads: int,
                 isolate_network: bool) -> None:
        self.task = task
        self.scratch = scratch
        self.device = device
        self.memory_mb = memory_mb
        self.threads = threads
        self.isolate_network = isolate_network
        self.proc: subprocess.Popen | None = None
        self.ready: dict = {}
        self._to_worker = self._from_worker = -1

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Spawn the worker and wait until it is warm; raises WorkerStartError."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        child_in, self._to_worker = os.pipe()
        self._from_worker, child_out = os.pipe()
        package_root = str(Path(archlab.__file__).resolve().parent.parent)
        cmd = [sys.executable, "-m", "archlab.sandbox.worker", "--in-fd", str(child_in), "--out-fd", str(child_out)]
        if self.isolate_network:
            cmd = ["unshare", "-rn", *cmd]
        with open(self.scratch / LOG_NAME, "ab") as log:
            try:
                self.proc = subprocess.Popen(
                    cmd, pass_fds=(child_in, child_out), cwd=self.scratch, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=log, start_new_session=True,
                    env=guard.scrubbed_env(self.scratch, self.threads, package_root))
            except OSError as exc:
                self._close_fds(child_in, child_out)
                raise WorkerStartError(f"cannot start a sandbox worker: {exc}") from None
        os.close(child_in)
        os.close(child_out)
        try:
            protocol.send(self._to_worker, {"type": "init", "task": self.task.model_dump(mode="json"),
                                            "device": self.device, "memory_mb": self.memory_mb,
                                            "threads": self.threads, "scratch": str(self.scratch)})
            self.ready = protocol.receive(self._from_worker, time.monotonic() + START_TIMEOUT_S)
        except (protocol.ChannelClosed, protocol.ChannelTimeout) as exc:
            self.kill()
            raise WorkerStartError(f"sandbox worker failed to start ({exc}): {self.stderr_tail(1)}") from None

    def run(self, req: EvalRequest) -> Result:
        """Evaluate one request; never raises. Kills the worker on timeout or a broken channel."""
        start = time.monotonic()
        try:
            protocol.send(self._to_worker, {"type": "eval", "req": req.model_dump(mode="json")})
            reply = protocol.receive(self._from_worker, start + req.limits.time_s)
            result = Result.model_validate(reply["result"])
        except protocol.ChannelTimeout:
            self.kill()
            return Result(status="failed", failure="timeout", fidelity=req.fidelity, wall_s=time.monotonic() - start,
                          error=f"wall-clock limit of {req.limits.time_s:g} s exceeded; the worker was killed "
                                "and is being replaced")
        except (protocol.ChannelClosed, ValueError, KeyError) as exc:
            return self._death(req, exc, time.monotonic() - start)
        result.wall_s = time.monotonic() - start
        return result

    def stop(self) -> None:
        """End the worker. A worker holds nothing worth flushing, so SIGKILL is the quickest clean stop."""
        self.kill()

    def signal_kill(self) -> None:
        """SIGKILL the worker's whole process group; safe from another thread (descriptors stay open)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self) -> None:
        """SIGKILL the worker's whole process group and release its descriptors."""
        self.signal_kill()
        if self.proc is not None:
            self.proc.wait()
        self._close_fds(self._to_worker, self._from_worker)
        self._to_worker = self._from_worker = -1

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last lines the worker wrote to its log (its stderr), joined with newlines."""
        try:
            text = (self.scratch / LOG_NAME).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def clean_scratch(self) -> None:
        """Remove what the last candidate left in the scratch folder (the log stays)."""
        for entry in self.scratch.iterdir() if self.scratch.exists() else []:
            if entry.name == LOG_NAME:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def _death(self, req: EvalRequest, exc: Exception, wall_s: float) -> Result:
        """The worker vanished mid-evaluation: the OOM killer (SIGKILL) means memory, anything else crashed."""
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        code = self.proc.returncode if self.proc is not None else None
        self.kill()
        tail = self.stderr_tail()
        if code == -signal.SIGKILL:
            return Result(status="failed", failure="memory", fidelity=req.fidelity, wall_s=wall_s,
                          error="the worker was killed by SIGKILL, most likely by the kernel's out-of-memory killer"
                                + (f"\n{tail}" if tail else ""))
        how = f"exit code {code}" if code is not None and code >= 0 else f"signal {-code}" if code else str(exc)
        return Result(status="failed", failure="crashed", fidelity=req.fidelity, wall_s=wall_s,
                      error=f"the worker died during the evaluation ({how})" + (f"\n{tail}" if tail else ""))

    @staticmethod
    def _close_fds(*fds: int) -> None:
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
