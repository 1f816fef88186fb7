"""Confinement inside an evaluation child: memory and process limits, scrubbed environment, an audit hook.

The hard walls are outside Python: the bubblewrap jail (`jail.py`: no network,
no other processes, read-only system, no campaign or home folder, an
unprivileged uid) and the zygote's per-evaluation fork and sweep (`zygote.py`).
This module adds what only the process itself can do:

- rlimits: address space (`RLIMIT_AS`, measured on top of the warm worker),
  processes, file size, open files, no core dumps;
- a `sys.addaudithook` hook, installed in each child before candidate code
  runs, that refuses what candidate code has no business doing: running
  programs (os.system, subprocess, exec, spawn, fork), sockets, signals,
  native-library access through ctypes, raising rlimits, any write outside the
  scratch folder and, when read roots are given, any read outside them. Every
  refusal is also recorded, so the evaluation is reported as a `sandbox`
  failure even if the candidate catches the exception. Audit hooks cannot be
  removed once added.

In-process hooks are defence in depth, not a security boundary on their own
(Python code can reach native memory in other ways); see docs/SANDBOX.md.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path
from typing import Any, Callable

# Environment variables a worker may inherit; everything else (API keys, tokens,
# cloud credentials, proxies) is dropped. A whitelist, so new secrets cannot leak by default.
ENV_WHITELIST = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "VIRTUAL_ENV", "CUDA_VISIBLE_DEVICES",
                 "LD_LIBRARY_PATH", "TZ", "PYTHONHASHSEED")
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")

BLOCKED_EVENTS = {
    "os.system": "running a shell command",
    "os.exec": "executing a program",
    "os.posix_spawn": "spawning a program",
    "os.spawn": "spawning a program",
    "os.fork": "forking",
    "os.forkpty": "forking",
    "subprocess.Popen": "starting a subprocess",
    "pty.spawn": "spawning a program",
    "socket.__new__": "opening a socket",
    "socket.socket": "opening a socket",
    "socket.connect": "connecting a socket",
    "socket.bind": "binding a socket",
    "socket.getaddrinfo": "resolving a host name",
    "socket.gethostbyname": "resolving a host name",
    "os.kill": "signalling a process",
    "os.killpg": "signalling a process group",
    "signal.pthread_kill": "signalling a thread",
    "ctypes.dlopen": "loading a native library",
    "ctypes.dlsym": "looking up a native function",
    "ctypes.dlsym/handle": "looking up a native function",
    "ctypes.call_function": "calling a native function",
    "ctypes.cdata": "reading native memory",
    "ctypes.cdata/buffer": "reading native memory",
    "ctypes.string_at": "reading native memory",
    "ctypes.wstring_at": "reading native memory",
    "os.chdir": "leaving the scratch folder",
    "os.chroot": "changing the root folder",
    "os.setuid": "changing user",
}
PATH_EVENTS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
               "os.symlink", "os.link", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile",
               "sqlite3.connect")
LIST_EVENTS = ("os.listdir", "os.scandir")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
ALWAYS_WRITABLE = ("/dev/null", "/proc/self/clear_refs")


class SandboxViolation(PermissionError):
    """Candidate code tried something the sandbox refuses; `str()` is one line."""


def scrubbed_env(scratch: Path, threads: int, extra_pythonpath: str | None = None) -> dict[str, str]:
    """The whole environment a worker starts with: whitelisted names, no secrets, thread caps."""
    env = {k: v for k, v in os.environ.items()
           if k in ENV_WHITELIST and not any(m in k.upper() for m in SECRET_MARKERS)}
    if extra_pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_pythonpath, env.get("PYTHONPATH")) if p)
    thread_caps = {k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    env.update(HOME=str(scratch), TMPDIR=str(scratch), HF_HUB_OFFLINE="1", MALLOC_ARENA_MAX="2",
               PYTHONDONTWRITEBYTECODE="1", **thread_caps)
    env.setdefault("LANG", "C.UTF-8")
    return env


def address_space_mb() -> float:
    """Current virtual address space of this process in MiB (VmSize)."""
    return _status_kb("VmSize") / 1024.0


def peak_rss_mb() -> float | None:
    """Peak resident memory (VmHWM) in MiB since the last `reset_peak_rss`."""
    kb = _status_kb("VmHWM")
    return kb / 1024.0 if kb else None


def reset_peak_rss() -> None:
    """Restart the VmHWM high-water mark so each evaluation reports its own peak (Linux only)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass  # not Linux, or not permitted: the peak then covers the worker's lifetime


def set_memory_limit(soft_mb: float | None, hard_mb: float | None = None) -> None:
    """Cap the address space (RLIMIT_AS). `None` leaves that side unlimited."""
    _, cur_hard = resource.getrlimit(resource.RLIMIT_AS)
    hard = cur_hard if hard_mb is None else int(hard_mb * 2**20)
    soft = resource.RLIM_INFINITY if soft_mb is None else int(soft_mb * 2**20)
    if hard != resource.RLIM_INFINITY:
        soft = hard if soft == resource.RLIM_INFINITY else min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def set_process_limits(*, processes: int | None, open_files: int, file_mb: int) -> None:
    """Hard caps on processes (threads count), open descriptors and file size; no core dumps.

    Lowering a hard limit needs no privilege and cannot be undone. The process
    cap only binds a non-root user (the jail runs as one; see jail.py) and is
    skipped (`None`) outside a jail, where it would count the user's other processes.
    """
    caps = [(resource.RLIMIT_NOFILE, open_files), (resource.RLIMIT_FSIZE, file_mb * 2**20),
            (resource.RLIMIT_CORE, 0)]
    if processes is not None:
        caps.append((resource.RLIMIT_NPROC, processes))
    for which, value in caps:
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def install_audit_hook(scratch: Path, read_roots: list[str] | None = None) -> list[str]:
    """Refuse, for the rest of this process's life, what candidate code must not do.

    Returns the list the hook appends every refusal to (one line each).
    """
    refused: list[str] = []
    sys.addaudithook(make_audit_hook(scratch, read_roots, refused))
    return refused


def make_audit_hook(scratch: Path, read_roots: list[str] | None = None,
                    refused: list[str] | None = None) -> Callable[[str, tuple[Any, ...]], None]:
    """The hook itself (separate so tests can call it without installing it for good).

    `read_roots`: when given, reads (and directory listings) outside these
    folders and the scratch folder are refused too. `refused` collects one line
    per refusal.
    """
    root = os.path.realpath(scratch)
    readable = [os.path.realpath(r) for r in read_roots or []]
    log = refused if refused is not None else []

    def under(real: str, top: str) -> bool:
        return real == top or real.startswith(top.rstrip(os.sep) + os.sep)

    def resolve(path: Any) -> str | None:
        try:
            return os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return None

    def inside(path: Any) -> bool:
        if isinstance(path, int):  # an already-open descriptor: opening it was checked
            return True
        real = resolve(path)
        return real is not None and (under(real, root) or real in ALWAYS_WRITABLE)

    def may_read(path: Any) -> bool:
        if read_roots is None or isinstance(path, int) or inside(path):
            return True
        real = resolve(path)
        return real is not None and any(under(real, top) for top in readable)

    def refuse(message: str) -> None:
        if len(log) < 100:
            log.append(message[:500])
        raise SandboxViolation(message)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in BLOCKED_EVENTS:
            refuse(f"sandbox refused {BLOCKED_EVENTS[event]} ({event})")
        if event == "open" and len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            writes = (isinstance(flags, int) and flags & WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+"))
            if writes and not inside(path):
                refuse(f"sandbox refused writing {path!r} outside the scratch folder")
            if not writes and not may_read(path):
                refuse(f"sandbox refused reading {path!r} outside the folders an evaluation needs")
        elif event in LIST_EVENTS and args and args[0] is not None and not may_read(args[0]):
            refuse(f"sandbox refused listing {os.fsdecode(args[0])!r} outside the folders an evaluation needs")
        elif event in PATH_EVENTS:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)) and not inside(path):
                    refuse(f"sandbox refused {event} on {os.fsdecode(path)!r} outside the scratch folder")
        elif event == "resource.setrlimit" and args:
            _, limits = args[0], args[1]
            current = resource.getrlimit(args[0])[1]
            new_hard = limits[1] if isinstance(limits, (tuple, list)) and len(limits) == 2 else None
            if new_hard is not None and (current != resource.RLIM_INFINITY
                                         and (new_hard == resource.RLIM_INFINITY or new_hard > current)):
                refuse("sandbox refused raising a hard resource limit")

    return hook


def oom_kills() -> int:
    """How many processes the kernel's out-of-memory killer has killed since boot (machine-wide)."""
    try:
        for line in Path("/proc/vmstat").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return -1


def _status_kb(field: str) -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
