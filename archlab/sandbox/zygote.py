"""The fork server inside the jail: import torch once, then fork a fresh child per evaluation.

Started by `process.ZygoteProcess` as ``python -m archlab.sandbox.zygote --in-fd R
--out-fd W`` (inside bubblewrap, or with weaker isolation when the executor
allows it). Messages (see `protocol.py`, `wire.py`):

- parent -> zygote: ``{"type": "init", "config": ZygoteConfig}``, then per
  evaluation ``{"type": "eval", "id", "req"}`` immediately followed by
  ``{"type": "nonce", "nonce"}``; anything else, or EOF, ends the zygote;
- zygote -> parent: ``{"type": "ready", ...}`` once, then per evaluation one
  `ZygoteReply` header followed by the child's raw report and, if any, the
  weights file, each as its own frame.

Per evaluation: read the request (and nothing after it), fork; the child
closes the channel and evaluates (`child.py`); only then does the zygote read
the nonce, so the child never holds it. The zygote collects the child's report
from a pipe, waits for it to exit, kills everything else left in the jail
(`kill(-1)` in the private pid namespace, or the child's descendants without
one), removes whatever appeared in the writable folders, and writes the reply
bound to the request's id and nonce. Anything left behind is reported as a
leftover: the parent records the evaluation as a `sandbox` failure.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import torch
from torch import nn

from archlab.sandbox import guard, proxies, protocol
from archlab.sandbox.child import run_child
from archlab.sandbox.evaluate import WEIGHTS_NAME, Workbench, mine_source, prepare, save_weights
from archlab.sandbox.procfs import stat_fields
from archlab.sandbox.tasks import Task
from archlab.sandbox.trainer import predict, train
from archlab.sandbox.wire import ChildReport, WireArray, ZygoteConfig

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
MAX_REPORT = 128 * 2**20  # bytes of child report relayed; beyond this the reply is marked truncated
MAX_WEIGHTS = protocol.MAX_MESSAGE  # 256 MiB: one frame (about 64 million float32 parameters)
EXIT_GRACE_S = 5.0  # a child that closed its report pipe gets this long to exit before it is killed
SWEEP_TIMEOUT_S = 10.0
NONCE_TIMEOUT_S = 30.0
WARMUP_MODULE = "import torch\nfrom torch import nn\n\nclass Warm(nn.Module):\n    def forward(self, x):\n        return x\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="archlab sandbox zygote (started by the executor)")
    parser.add_argument("--in-fd", type=int, required=True)
    parser.add_argument("--out-fd", type=int, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    libc = ctypes.CDLL(None, use_errno=True)
    config = ZygoteConfig.model_validate(protocol.receive(args.in_fd)["config"])
    if config.die_with_parent:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # One thread here, whatever the evaluations get: GNU OpenMP cannot start a thread pool in a child forked
    # from a process whose pool already ran (the child would hang); each child sets its own thread count.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    bench = prepare(Task.model_validate(config.task), config.device)
    warm_up(bench, Path(config.scratch_root))
    baseline_mb = guard.address_space_mb()
    limit_memory = bench.device == "cpu"  # CUDA maps huge address ranges: RLIMIT_AS would break it
    if limit_memory:
        guard.set_memory_limit(None, hard_mb=baseline_mb + float(config.memory_mb))
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no child can read our memory or descriptors through /proc
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans of an evaluation become ours to kill and reap
    guard.set_process_limits(processes=config.processes, open_files=config.open_files, file_mb=config.file_mb)
    server = Server(config, bench, args.in_fd, args.out_fd, limit_memory, libc)
    gc.collect()
    gc.freeze()  # a child's garbage collections then skip (and do not copy-on-write) every page we hold
    protocol.send(args.out_fd, {"type": "ready", "pid": os.getpid(), "device": bench.device,
                                "baseline_mb": baseline_mb, "warm_s": time.perf_counter() - started})
    return server.loop()


class Server:
    """The zygote's request loop: one forked child per evaluation, one bound reply each."""

    def __init__(self, config: ZygoteConfig, bench: Workbench, in_fd: int, out_fd: int, limit_memory: bool,
                 libc: ctypes.CDLL) -> None:
        self.config, self.bench, self.in_fd, self.out_fd = config, bench, in_fd, out_fd
        self.limit_memory, self.libc = limit_memory, libc
        self.scratch_root = Path(config.scratch_root)
        self.count = 0
        self.baseline = {folder: _entries(folder) for folder in config.watch}

    def loop(self) -> int:
        while True:
            try:
                message = protocol.receive(self.in_fd)
            except protocol.ChannelClosed:
                return 0
            if message.get("type") != "eval":
                return 0
            header, frames = self.serve(message)
            protocol.send(self.out_fd, header)
            for frame in frames:
                protocol.send_frame(self.out_fd, frame)

    def serve(self, message: dict) -> tuple[dict, list[bytes]]:
        self.count += 1
        scratch = self.scratch_root / f"eval-{self.count}"
        scratch.mkdir(mode=0o700)
        read_fd, write_fd = os.pipe()
        oom_before = guard.oom_kills()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            run_child(message, self.bench, scratch, write_fd, close_fds=(self.in_fd, self.out_fd),
                      limit_memory=self.limit_memory, read_roots=self.config.read_roots)
        fork_ms = (time.perf_counter() - started) * 1000.0
        os.close(write_fd)
        nonce = protocol.receive(self.in_fd, time.monotonic() + NONCE_TIMEOUT_S)  # only now: the child is gone from the channel
        report, truncated, status, leftovers = self.collect(pid, read_fd)
        os.close(read_fd)
        status["oom"] = guard.oom_kills() != oom_before
        weights = _read_weights(scratch / WEIGHTS_NAME) if message.get("req", {}).get("weights_path") else None
        leftovers += self.wipe(scratch)
        header = {"type": "reply", "id": str(message.get("id", "")), "nonce": str(nonce.get("nonce", "")),
                  "exit": status, "report_bytes": len(report), "truncated": truncated,
                  "weights_bytes": None if weights is None else len(weights), "leftovers": leftovers[:100],
                  "fork_ms": fork_ms}
        return header, [report] + ([weights] if weights is not None else [])

    def collect(self, pid: int, read_fd: int) -> tuple[bytes, bool, dict, list[str]]:
        """The child's report, whether it was cut, how the child ended, and what it left running."""
        pidfd = os.pidfd_open(pid)
        buffer, truncated, status, leftovers = bytearray(), False, None, []
        eof_at: float | None = None
        try:
            while status is None or eof_at is None:
                waiting = ([read_fd] if eof_at is None else []) + ([pidfd] if status is None else [])
                late = status is None and eof_at is not None
                timeout = max(0.0, eof_at + EXIT_GRACE_S - time.monotonic()) if late else None
                ready = select.select(waiting, [], [], timeout)[0]
                if read_fd in ready:
                    chunk = os.read(read_fd, 1 << 20)
                    if not chunk:
                        eof_at = time.monotonic()
                    elif len(buffer) + len(chunk) <= MAX_REPORT:
                        buffer += chunk
                    else:
                        truncated = True
                overdue = late and time.monotonic() >= eof_at + EXIT_GRACE_S
                if status is None and (pidfd in ready or overdue):
                    if pidfd not in ready:  # it closed its report pipe but will not end: end it
                        _kill(pid)
                        leftovers.append("kept running after it closed its report pipe")
                    status = _exit_status(os.waitpid(pid, 0)[1])
                    leftovers += self.sweep(pid)  # nobody else may keep the pipe open
        finally:
            os.close(pidfd)
        return bytes(buffer), truncated, status, leftovers

    def sweep(self, child: int) -> list[str]:
        """Kill and reap every process the evaluation left; describe them (empty when it left none)."""
        jailed = self.config.private_namespaces
        found = _others() if jailed else _descendants(child)
        described = [f"left a process running: {_describe(p)}" for p in found]
        deadline = time.monotonic() + SWEEP_TIMEOUT_S
        while found:
            if jailed:
                _kill(-1)  # every process in this pid namespace but ours and its init, atomically
            else:
                for p in found:
                    _kill(p)
            _reap()
            found = _others() if jailed else _descendants(child)
            if found and time.monotonic() > deadline:  # something will not die: let the parent replace the jail
                os._exit(75)
            if found:
                time.sleep(0.01)
        return described

    def wipe(self, scratch: Path) -> list[str]:
        """Remove the evaluation's scratch folder and anything new in the watched writable folders."""
        shutil.rmtree(scratch, ignore_errors=True)
        found = []
        for folder, before in self.baseline.items():
            for name in sorted(_entries(folder) - before):
                path = os.path.join(folder, name)
                found.append(f"wrote outside its scratch folder: {path}")
                _remove(path)
        if self.config.private_namespaces:  # outside a jail the IPC namespace is the host's: never touch it
            found += _remove_ipc_objects(self.libc)
        return found


def warm_up(bench: Workbench, scratch_root: Path) -> None:
    """Exercise every code path an evaluation uses, so lazy imports happen before any lock-down."""
    import safetensors.torch  # noqa: F401  (weights)

    import archlab.tools as tools  # noqa: F401  (the tree, compiler and metrics)
    from archlab.tools import count_flops, measure_latency

    task = bench.task
    model = nn.Sequential(nn.Flatten(), nn.Linear(int(torch.Size(task.input_shape).numel()), task.num_classes))
    count_flops(model, tuple(task.input_shape))
    measure_latency(model, tuple(task.input_shape), repeats=1, warmup=0)
    x, y = proxies.sample_batch(bench.data.x_train, bench.data.y_train, 4, 0)
    proxies.compute(model, x, y)
    outcome = train(model, bench.data, task.recipe.with_overrides({"eval_every": 1, "schedule": "cosine"}), 1, 0)
    WireArray.encode(predict(model, bench.data.x_val[:2]))
    mine_source(WARMUP_MODULE, {})
    folder = scratch_root / "warm-up"
    folder.mkdir(exist_ok=True)
    save_weights(model, folder / WEIGHTS_NAME)
    shutil.rmtree(folder)
    ChildReport(status="ok", steps=outcome.steps).model_dump_json()


def _entries(folder: str) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def _remove_ipc_objects(libc: ctypes.CDLL) -> list[str]:
    """System V shared memory, semaphores and message queues left in this IPC namespace (removed)."""
    found = []
    removers = {"shm": lambda i: libc.shmctl(i, 0, None), "sem": lambda i: libc.semctl(i, 0, 0),
                "msg": lambda i: libc.msgctl(i, 0, None)}  # 0 = IPC_RMID
    for kind, remove in removers.items():
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 1 and fields[1].isdigit():
                remove(int(fields[1]))
                found.append(f"left a System V {kind} object (id {fields[1]})")
    return found


def _others() -> list[int]:
    """Every process in this pid namespace except its init (pid 1) and this zygote."""
    me = os.getpid()
    return [int(n) for n in _entries("/proc") if n.isdigit() and int(n) not in (1, me)]


def _descendants(child: int) -> list[int]:
    """Without a pid namespace: our children (orphans are re-parented to us) and the child's group."""
    me, found = os.getpid(), []
    for name in _entries("/proc"):
        fields = stat_fields(int(name)) if name.isdigit() and int(name) != me else None
        if fields and (int(fields[1]) == me or int(fields[2]) == child):
            found.append(int(name))
    return found


def _describe(pid: int) -> str:
    try:
        return f"{Path(f'/proc/{pid}/comm').read_text().strip()} (pid {pid})"
    except OSError:
        return f"pid {pid}"


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _exit_status(raw: int) -> dict:
    code = os.waitstatus_to_exitcode(raw)
    return {"code": code, "signal": None} if code >= 0 else {"code": None, "signal": -code}


def _read_weights(path: Path) -> bytes | None:
    """The weights file the child wrote, if it is a plain file of sane size (never through a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size > MAX_WEIGHTS:
            return b""  # the parent refuses an empty file with a reason
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_WEIGHTS)
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
