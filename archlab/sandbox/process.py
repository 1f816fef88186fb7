"""One zygote (a warm fork server, usually inside a bubblewrap jail), seen from the trusted parent.

The parent starts it (`jail.Launch`), hands it one request at a time and
enforces the wall-clock limit: past `time_s` the whole jail is killed (its pid
namespace dies with its init, taking every process in it) and a fresh one is
started. Every reply must carry the request's id and the per-request nonce that
was sent after the request, once the evaluation child had already lost the
channel; a reply that does not match is a recorded `sandbox` failure, and the
jail is replaced, since its channel can no longer be trusted.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from archlab.errors import one_line
from archlab.records import FailureKind, Result
from archlab.sandbox import protocol
from archlab.sandbox.guard import oom_kills
from archlab.sandbox.evaluate import WEIGHTS_NAME
from archlab.sandbox.jail import Launch
from archlab.sandbox.procfs import process_tree, running
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.wire import ChildReport, ZygoteConfig, ZygoteReply

KILL_WAIT_S = 10.0
START_TIMEOUT_S = 180.0  # importing torch on a loaded 2-core machine can take a while
STDERR_TAIL_LINES = 12
MAX_REPORT = 128 * 2**20
MAX_WEIGHTS = protocol.MAX_MESSAGE


class WorkerStartError(RuntimeError):
    """A worker could not be started; `str()` is one line."""


@dataclass
class Exchange:
    """One evaluation as the zygote relayed it: its checked header, the child's report, the weights."""

    header: ZygoteReply
    report: ChildReport | None  # None: the child wrote nothing usable (see `failure` and `problem`)
    weights: bytes | None
    failure: FailureKind | None = None
    problem: str = ""
    wall_s: float = 0.0


class ZygoteProcess:
    """A warm zygote. Not thread-safe: one caller (its pool slot) at a time; `signal_kill` from any thread."""

    def __init__(self, launch: Launch, config: ZygoteConfig, log: Path) -> None:
        self.launch, self.config, self.log = launch, config, log
        self.proc: subprocess.Popen | None = None
        self.ready: dict = {}
        self.aborted = False  # killed on purpose from another thread (the executor is closing)
        self._oom_before = -1
        self._to_zygote = self._from_zygote = -1

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start the zygote and wait until it is warm; raises WorkerStartError."""
        child_in, self._to_zygote = os.pipe()
        self._from_zygote, child_out = os.pipe()
        cmd = [*self.launch.prefix, *self.launch.python, "-m", "archlab.sandbox.zygote",
               "--in-fd", str(child_in), "--out-fd", str(child_out)]
        with open(self.log, "wb") as log:  # a fresh log per zygote: the last one's tail was read before it was replaced
            try:
                self.proc = subprocess.Popen(cmd, pass_fds=(child_in, child_out), cwd=self.launch.cwd,
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True, env=self.launch.env)
            except OSError as exc:
                _close(child_in, child_out, self._to_zygote, self._from_zygote)
                self._to_zygote = self._from_zygote = -1
                raise WorkerStartError(f"cannot start a sandbox worker: {exc}") from None
        _close(child_in, child_out)
        try:
            protocol.send(self._to_zygote, {"type": "init", "config": self.config.model_dump(mode="json")})
            self.ready = protocol.receive(self._from_zygote, time.monotonic() + START_TIMEOUT_S)
        except (protocol.ChannelClosed, protocol.ChannelTimeout) as exc:
            self.kill()
            raise WorkerStartError(f"sandbox worker failed to start ({exc}): {self.stderr_tail(1)}") from None

    def exchange(self, req: EvalRequest) -> Exchange | Result:
        """Run one request; a Result when the exchange itself failed (timeout, dead jail, forged reply)."""
        start = time.monotonic()
        deadline = start + req.limits.time_s
        self._oom_before = oom_kills()
        rid, nonce = secrets.token_hex(8), secrets.token_hex(16)
        wire_req = req.model_dump(mode="json")
        if req.weights_path:
            wire_req["weights_path"] = WEIGHTS_NAME  # the caller's path never enters the jail
        try:
            protocol.send(self._to_zygote, {"type": "eval", "id": rid, "req": wire_req})
            protocol.send(self._to_zygote, {"type": "nonce", "nonce": nonce})
            raw = protocol.receive(self._from_zygote, deadline)
            try:
                header = ZygoteReply.model_validate(raw)
            except ValidationError as exc:
                return self._forged(req, f"malformed reply header ({one_line(exc, 200)})", start)
            if not (secrets.compare_digest(header.id, rid) and secrets.compare_digest(header.nonce, nonce)):
                return self._forged(req, "a reply that is not bound to this request (id or nonce differ)", start)
            report_bytes = protocol.receive_frame(self._from_zygote, deadline, MAX_REPORT)
            weights = None if header.weights_bytes is None else \
                protocol.receive_frame(self._from_zygote, deadline, MAX_WEIGHTS)
        except protocol.ChannelTimeout:
            self.kill()
            return Result(status="failed", failure="timeout", fidelity=req.fidelity, wall_s=time.monotonic() - start,
                          error=f"wall-clock limit of {req.limits.time_s:g} s exceeded; the sandbox was killed "
                                "with everything in it and is being replaced")
        except protocol.ChannelClosed as exc:
            return self._death(req, exc, time.monotonic() - start)
        if len(report_bytes) != header.report_bytes or (weights is not None and len(weights) != header.weights_bytes):
            return self._forged(req, "a reply whose sizes do not match its header", start)
        report, failure, problem = _parse_report(report_bytes, header)
        return Exchange(header=header, report=report, weights=weights, failure=failure, problem=problem,
                        wall_s=time.monotonic() - start)

    def stop(self) -> None:
        """End the zygote. It holds nothing worth flushing, so SIGKILL is the quickest clean stop."""
        self.kill()

    def signal_kill(self) -> None:
        """SIGKILL the jail's process group; safe from another thread (descriptors stay open).

        Killing bubblewrap kills the jail's init (--die-with-parent), and with it
        its whole pid namespace: nothing started inside outlives this.
        """
        if self.proc is not None and self.proc.poll() is None:
            self.aborted = True
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self) -> None:
        """SIGKILL the jail, wait until every process that was in it is gone, release its descriptors."""
        inside = process_tree(self.proc.pid) if self.proc is not None and self.proc.poll() is None else {}
        self.signal_kill()
        if self.proc is not None:
            self.proc.wait()
        deadline = time.monotonic() + KILL_WAIT_S  # the pid namespace dies with its init, a moment later
        while inside and time.monotonic() < deadline:
            inside = {pid: start for pid, start in inside.items() if running(pid, start)}
            if inside:
                time.sleep(0.01)
        _close(self._to_zygote, self._from_zygote)
        self._to_zygote = self._from_zygote = -1

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last lines the zygote (and its children) wrote to the log (untrusted text, shown as is)."""
        try:
            with open(self.log, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - 16384))
                text = fh.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def _forged(self, req: EvalRequest, why: str, start: float) -> Result:
        self.kill()  # the channel is out of step or tampered with: never read another reply from it
        return Result(status="failed", failure="sandbox", fidelity=req.fidelity, wall_s=time.monotonic() - start,
                      error=f"the sandbox sent {why}; the reply was discarded and the sandbox replaced")

    def _death(self, req: EvalRequest, exc: Exception, wall_s: float) -> Result:
        """The zygote vanished mid-evaluation: SIGKILL (the OOM killer) means memory, anything else crashed."""
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        code = self.proc.returncode if self.proc is not None else None
        aborted = self.aborted
        self.kill()
        tail = self.stderr_tail()
        if aborted:
            return Result(status="failed", failure="crashed", fidelity=req.fidelity, wall_s=wall_s,
                          error="the sandbox was stopped during the evaluation")
        if code in (-signal.SIGKILL, 128 + signal.SIGKILL) and oom_kills() != self._oom_before:
            return Result(status="failed", failure="memory", fidelity=req.fidelity, wall_s=wall_s,
                          error="the sandbox was killed by the kernel's out-of-memory killer"
                                + (f"\n{tail}" if tail else ""))
        how = f"exit code {code}" if code is not None and code >= 0 else f"signal {-code}" if code else one_line(exc)
        return Result(status="failed", failure="crashed", fidelity=req.fidelity, wall_s=wall_s,
                      error=f"the sandbox died during the evaluation ({how})" + (f"\n{tail}" if tail else ""))


def _parse_report(raw: bytes, header: ZygoteReply) -> tuple[ChildReport | None, FailureKind | None, str]:
    """The child's report, or None with the failure kind and one line saying why there is none."""
    status = header.exit
    if status.signal == signal.SIGKILL and status.oom:
        return None, "memory", "the evaluation process was killed by the kernel's out-of-memory killer"
    if header.truncated:
        return None, "sandbox", "the evaluation's report was larger than the limit"
    if not raw:
        how = f"exit code {status.code}" if status.code is not None else f"signal {status.signal}"
        return None, "crashed", f"the evaluation process ended without a report ({how})"
    try:
        return ChildReport.model_validate_json(raw), None, ""
    except ValidationError as exc:
        return None, "sandbox", f"the evaluation's report does not add up: {one_line(exc, 300)}"


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
