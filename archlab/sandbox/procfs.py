"""Reading processes from /proc (no psutil): who runs below whom, and whether one still runs.

Used by the parent (waiting until a killed jail is really gone), by the
executor's scratch roots (is their owner still alive?) and by the tests, which
check from outside the jail that nothing outlived an evaluation.
"""

from __future__ import annotations

import os
from pathlib import Path


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgid, ...), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start(pid: int) -> int | None:
    """The start time of process `pid` in clock ticks since boot (None if it does not exist)."""
    fields = stat_fields(pid)
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def running(pid: int, start: int | None) -> bool:
    """Whether process `pid`, started at `start`, still exists and is not a zombie (a reused pid is not it)."""
    fields = stat_fields(pid)
    return bool(fields) and fields[0] != "Z" and process_start(pid) == start


def process_tree(root: int) -> dict[int, int | None]:
    """Every process below `root`, as pid -> start time."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        fields = stat_fields(int(name)) if name.isdigit() else None
        if fields:
            children.setdefault(int(fields[1]), []).append(int(name))
    found, stack = {}, list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found[pid] = process_start(pid)
        stack.extend(children.get(pid, []))
    return found
