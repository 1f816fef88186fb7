"""The forked evaluation child: lock itself down, run one evaluation, write its report, exit.

Runs right after the zygote's `fork()`. Everything until `install_audit_hook`
is trusted code; only then does candidate code run. Before that the child
closes its copies of the zygote's channel to the parent (so it can neither
read the per-request nonce that follows the request nor write a reply of its
own), starts its own session, dies with the zygote, and takes its limits.
Its only way out is the report pipe, which the zygote reads and relays as
untrusted bytes; the parent computes every metric from the predictions in it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path
from typing import NoReturn

import torch

from archlab.sandbox import guard
from archlab.sandbox.evaluate import Workbench, evaluate, failure
from archlab.sandbox.requests import EvalRequest

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
EXIT_NO_REPORT = 70  # the child could not even write its report


def run_child(message: dict, bench: Workbench, scratch: Path, report_fd: int, *, close_fds: tuple[int, ...],
              limit_memory: bool, read_roots: list[str]) -> NoReturn:
    """Evaluate one request in this freshly forked process; never returns."""
    code = EXIT_NO_REPORT
    started = time.perf_counter()
    try:
        for fd in close_fds:  # first of all: the channel to the parent (and the nonce behind it) is gone
            os.close(fd)
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the zygote dies -> so does this evaluation
        _prctl(PR_SET_DUMPABLE, 1)  # our own /proc/self (peak memory); the zygote stays non-dumpable
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(scratch)
        os.environ.update(HOME=str(scratch), TMPDIR=str(scratch))
        req = EvalRequest.model_validate(message["req"])
        if limit_memory:
            guard.set_memory_limit(guard.address_space_mb() + req.limits.memory_mb)
        torch.set_num_threads(req.limits.threads)
        guard.reset_peak_rss()
        refused = guard.install_audit_hook(scratch, read_roots)
        # ---- candidate code may run from here on ----
        report = evaluate(req, bench, scratch)
        report.violations = list(refused)
        report.peak_mem_mb = guard.peak_rss_mb()
        report.eval_s = time.perf_counter() - started
        _write_all(report_fd, report.model_dump_json().encode())
        code = 0
    except BaseException as exc:  # even a failure to report must end this process here
        try:
            _write_all(report_fd, failure("crashed", exc).model_dump_json().encode())
            code = 0
        except BaseException:
            pass
    finally:
        os._exit(code)  # no atexit, no flushing of buffers inherited from the zygote


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.close(fd)


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(option, value, 0, 0, 0)

