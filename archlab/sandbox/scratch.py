"""The executor's scratch root on the host: made with an owner mark, and removed when its owner is gone.

A root holds the label-free copy of the task data, the zygotes' logs and, when
archlab runs as root, the empty "view" folders of `drop_root.py`. Evaluations
themselves write only inside the jail's private tmpfs. A run killed with
SIGKILL cannot remove its root, so each root carries `owner.json` (pid and the
process's start time, which tells a reused pid apart) and every new executor
removes the roots whose owner no longer runs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from archlab.sandbox.procfs import process_start

PREFIXES = ("archlab-sandbox-", "archlab-ray-sandbox-")
OWNER_FILE = "owner.json"


def make_root(prefix: str = PREFIXES[0], parent: Path | None = None) -> Path:
    """A new scratch root marked with this process as its owner (enterable, not listable, by others)."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    root.chmod(0o711)  # the jail's unprivileged uid must reach the data folder inside, nobody may list it
    (root / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "start": process_start(os.getpid())}))
    return root


def remove_stale_roots(parent: Path | None = None) -> list[Path]:
    """Remove scratch roots (in `parent`, default the temp folder) whose owner process is gone."""
    folder = Path(parent or tempfile.gettempdir())
    removed = []
    for root in folder.iterdir() if folder.is_dir() else []:
        if not root.name.startswith(PREFIXES) or not root.is_dir() or root.is_symlink():
            continue
        try:
            owner = json.loads((root / OWNER_FILE).read_text())
            pid, start = int(owner["pid"]), owner.get("start")
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unmarked (being made right now, or not ours): leave it
        if process_start(pid) is None or process_start(pid) != start:
            shutil.rmtree(root, ignore_errors=True)
            removed.append(root)
    return removed
