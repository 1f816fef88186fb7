"""How a zygote is started: inside a bubblewrap jail, or (when allowed) with weaker isolation.

The jail (`bwrap`, Debian package `bubblewrap`) is the security boundary:

- a new root with read-only binds of only what Python, the venv, torch and the
  `archlab` package itself need (never the project folder around it, the
  campaign folder, /home, /root, /run or the host's /tmp), the label-free task
  data read-only at /data, and no /usr/bin (no shell, no programs);
- private, size-capped tmpfs for /tmp (the per-evaluation scratch folders) and
  /dev/shm; the root, /dev and every bind read-only;
- `--unshare-all` (network, pid, ipc, uts, user, cgroup), `--die-with-parent`,
  `--new-session`, an unprivileged uid inside; started by root it drops to an
  unprivileged uid outside as well (`drop_root.py`), so RLIMIT_NPROC binds;
- a scrubbed environment (`--clearenv`, then a whitelist).

`probe()` starts one tiny jail to find out whether this kernel allows it (some
containers refuse user namespaces); the executor says so in one line and
falls back to `Launch.plain`, which keeps the label-free data, the fork-per-
evaluation zygote and the audit hook but has no OS walls.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import archlab
from archlab.errors import one_line
from archlab.sandbox import guard

JAIL_DATA = "/data"  # where the label-free task data appears inside the jail
JAIL_SCRATCH = "/tmp"  # private tmpfs: the per-evaluation scratch folders live here
SCRATCH_MB = 1024  # size of /tmp in the jail, and the largest file an evaluation may write
SHM_MB = 64
PROCESSES = 256  # RLIMIT_NPROC inside the jail (threads count); a fork bomb stops here
OPEN_FILES = 256
SYSTEM_LIB_DIRS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/lib", "/lib64", "/lib32", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache",)
NOBODY = 65534
PROBE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Launch:
    """Everything needed to start one zygote, and what it may see once started."""

    prefix: list[str]  # the command put in front of ``python -m archlab.sandbox.zygote ...``
    env: dict[str, str]
    cwd: str
    data_file: str  # the label-free task data, as the zygote sees it
    scratch_root: str  # where the zygote makes per-evaluation folders, as it sees it
    read_roots: list[str]
    jailed: bool
    watch: list[str] = field(default_factory=list)
    processes: int | None = None

    @property
    def python(self) -> list[str]:
        """The interpreter command: `-s` no user site, `-P` no script folder on sys.path (the scratch)."""
        return [sys.executable, "-s", "-P"]


def package_root() -> Path:
    """The folder holding the `archlab` package: only the package itself is bound into the jail."""
    return Path(archlab.__file__).resolve().parent


def python_roots() -> list[str]:
    """Folders the interpreter and its packages live in (prefixes, site-packages), without the project."""
    project = str(package_root().parent)
    found: list[str] = []
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  str(Path(sys.executable).resolve().parent.parent)]
    candidates += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    for path in candidates:
        real = os.path.realpath(path)
        if not os.path.isdir(real) or real in ("/", "/usr") or real == project:
            continue
        if any(real == f or real.startswith(f + os.sep) for f in found):
            continue
        found = [f for f in found if not f.startswith(real + os.sep)] + [real]
    return found


def interpreter_binds(roots: list[str]) -> list[tuple[str, str]]:
    """The interpreter file itself when it lives outside `roots` (a system Python in /usr/bin)."""
    real = os.path.realpath(sys.executable)
    if any(real.startswith(r + os.sep) for r in roots):
        return []
    return [(real, sys.executable)]


def system_binds() -> tuple[list[str], list[tuple[str, str]]]:
    """(library folders and files to bind, symlinks to recreate) for the dynamic loader."""
    binds, links = [], []
    for path in SYSTEM_LIB_DIRS:
        if os.path.islink(path):
            links.append((os.readlink(path), path))
        elif os.path.isdir(path):
            binds.append(path)
    binds += [p for p in SYSTEM_FILES if os.path.isfile(p)]
    return binds, links


def gpu_binds() -> list[str]:
    """NVIDIA device nodes a CUDA evaluation needs (only bound when the executor trains on a GPU)."""
    return sorted(glob.glob("/dev/nvidia*"))


def jail_env(threads: int) -> dict[str, str]:
    """The whole environment inside the jail: the scrubbed whitelist, only the package on PYTHONPATH."""
    env = guard.scrubbed_env(Path(JAIL_SCRATCH), threads)
    env.pop("LD_LIBRARY_PATH", None)  # host paths mean nothing inside; the loader cache is bound
    env.update(PYTHONPATH=str(package_root().parent), PYTHONNOUSERSITE="1", PATH="/usr/bin:/bin", USER="nobody")
    return env


def plain(data_file: Path, scratch: Path, threads: int, isolate_network: bool) -> Launch:
    """Weaker isolation (no jail): own session, scrubbed environment, ``unshare -rn`` when possible."""
    prefix = ["unshare", "-rn"] if isolate_network else []
    roots = python_roots() + [str(package_root()), *system_binds()[0], str(data_file.parent), "/dev", "/proc/self"]
    return Launch(prefix=prefix, env=guard.scrubbed_env(scratch, threads, str(package_root().parent)),
                  cwd=str(scratch), data_file=str(data_file), scratch_root=str(scratch), read_roots=roots,
                  jailed=False)


def jailed(data_dir: Path, views_dir: Path, threads: int, gpu: bool = False) -> Launch:
    """The bubblewrap command for one zygote (through `drop_root.py` when running as root)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bwrap is not installed")
    libs, links = system_binds()
    binds = [*python_roots(), str(package_root()), *libs]
    pairs = [(b, b) for b in binds] + interpreter_binds(binds) + [(str(data_dir), JAIL_DATA)]
    as_root = os.geteuid() == 0
    uid, gid = _nobody() if as_root else (os.getuid(), os.getgid())
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--uid", str(NOBODY), "--gid", str(NOBODY),
            "--hostname", "archlab-sandbox", "--clearenv", "--proc", "/proc", "--dev", "/dev",
            "--size", str(SHM_MB * 2**20), "--tmpfs", "/dev/shm", "--mqueue", "/dev/mqueue"]
    if gpu:
        for node in gpu_binds():
            args += ["--dev-bind-try", node, node]
        args += ["--ro-bind-try", "/sys", "/sys"]
    args += ["--remount-ro", "/dev", "--size", str(SCRATCH_MB * 2**20), "--tmpfs", JAIL_SCRATCH]
    for target, link in links:
        args += ["--symlink", target, link]
    helper: list[str] = []
    views_dir.mkdir(parents=True, exist_ok=True)
    for i, (source, dest) in enumerate(pairs):
        if as_root:  # nobody may not be able to enter the source (e.g. under /root): bind it on a view first
            view = views_dir / str(i)
            if os.path.isdir(source):
                view.mkdir(exist_ok=True)
            else:
                view.touch(exist_ok=True)
            helper += ["--view", source, str(view)]
            source = str(view)
        args += ["--ro-bind", source, dest]
    for key, value in jail_env(threads).items():
        args += ["--setenv", key, value]
    args += ["--chdir", JAIL_SCRATCH, "--remount-ro", "/", "--"]
    prefix = args
    if as_root:
        prefix = [sys.executable, "-I", "-S", str(Path(__file__).with_name("drop_root.py")),
                  "--uid", str(uid), "--gid", str(gid), *helper, "--", *args]
    roots = binds + [JAIL_DATA, "/dev", "/proc/self"]
    return Launch(prefix=prefix, env={}, cwd="/", data_file=f"{JAIL_DATA}/task.npz", scratch_root=JAIL_SCRATCH,
                  read_roots=roots, jailed=True, watch=[JAIL_SCRATCH, "/dev/shm", "/dev/mqueue"],
                  processes=PROCESSES)


def probe(data_dir: Path, views_dir: Path) -> str | None:
    """None when a jail starts here; otherwise one line saying why not (missing tool, kernel refusal)."""
    try:
        launch = jailed(data_dir, views_dir, threads=1)
    except FileNotFoundError:
        return "bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)"
    try:
        done = subprocess.run([*launch.prefix, *launch.python, "-c", "import archlab"], env=launch.env,
                              cwd=launch.cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap could not start a jail: {one_line(exc)}"
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return f"bubblewrap could not start a jail: {one_line(lines[-1] if lines else f'exit code {done.returncode}')}"
    return None


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return NOBODY, NOBODY
