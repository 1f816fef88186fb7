"""One process at a time on an embedded memory folder: an inter-process lock held while it is open.

Chroma's embedded client (`PersistentClient`) is not safe across processes: each
process keeps its own HNSW index in memory and writes it to the folder when it
chooses, so a second process can read segment metadata whose files are not on
disk yet ("Error creating hnsw segment reader: Nothing found on disk"), or wait
on SQLite's lock for minutes. So a `Memory` on a folder holds an exclusive lock
on `<folder>/.archlab-memory.lock` for as long as it is open, readers included:
nobody ever opens a half-written index. Another process that opens the folder
waits, saying once who holds it, for at most `timeout_s` (None: as long as it
takes), then refuses with `MemoryBusy`. Campaigns that should write at the same
time share a Chroma server (`--chroma-url`) instead, which serialises its own
writes.

Why the whole lifetime and not each write: a process that reopens the index to
see another's writes pays the full open (the folder's HNSW segments are read
back; about 1 s for a fresh index on this machine, more as it grows) on every
operation after the other wrote, and its in-memory index would still be stale
between reopens. One open per campaign, and a clear wait, is the honest design.

The lock is filelock's (flock on POSIX): the OS drops it when its process dies,
so a killed campaign never leaves a stale lock behind, and filelock closes it in
forked children, so sandbox workers do not keep it. In one process, Memories on
one folder share the lock (and Chroma's engine), counted like a re-entrant lock.
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from archlab.knowledge.errors import KnowledgeError

LOCK_NAME = ".archlab-memory.lock"
HOLDER_NAME = ".archlab-memory.holder.json"
HOLDER_DRAFT = HOLDER_NAME + ".tmp"  # written, then renamed: a reader never sees half a note
LOCK_FILES = frozenset({LOCK_NAME, HOLDER_NAME, HOLDER_DRAFT})
# A holder writes its note just after it takes the lock: one who finds the lock taken and no note
# yet gives it this long before saying "another process" (the note names the campaign).
HOLDER_NOTE_GRACE_S = 2.0


class MemoryBusy(KnowledgeError):
    """Another process holds the memory folder and did not let go in time."""


class MemoryBusyWarning(RuntimeWarning):
    """Opening the memory waits for another process (the line says which)."""


class FolderLock:
    """The lock of one memory folder, as this process sees it."""

    def __init__(self, folder: Path, owner: str | None = None, timeout_s: float | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder)
        self.owner = owner
        self.timeout_s = timeout_s
        self.on_wait = on_wait
        self._lock = FileLock(self.folder / LOCK_NAME, thread_local=False, is_singleton=True)
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def holder(self) -> dict | None:
        """Who holds the folder, as its holder wrote it (None when unknown)."""
        try:
            return json.loads((self.folder / HOLDER_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def describe_holder(self) -> str:
        info = self.holder()
        if not info:
            return "another process"
        who = f"{info['owner']} " if info.get("owner") else ""
        return f"{who}(pid {info.get('pid')} on {info.get('host')}, since {info.get('since')})"

    def acquire(self) -> None:
        """Take the folder: at once if free, else wait (one line saying why), else MemoryBusy."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            self._wait()
        self._held = True
        if self._lock.lock_counter == 1:
            self._write_holder()

    def _noted_holder(self) -> str:
        """`describe_holder`, once the holder has had a moment to write its note."""
        deadline = time.monotonic() + HOLDER_NOTE_GRACE_S
        while self.holder() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.describe_holder()

    def _wait(self) -> None:
        started = time.monotonic()
        limit = "as long as it takes" if self.timeout_s is None else f"at most {self.timeout_s:g} s"
        line = (f"memory folder {self.folder} is in use by {self._noted_holder()}; waiting for it to close "
                f"({limit}; campaigns that write at once need a Chroma server, --chroma-url)")
        if self.on_wait is not None:
            self.on_wait(line)
        else:
            warnings.warn(line, MemoryBusyWarning, stacklevel=4)
        try:
            self._lock.acquire(timeout=-1 if self.timeout_s is None else self.timeout_s)
        except Timeout:
            raise MemoryBusy(f"memory folder {self.folder} is in use by {self.describe_holder()}; gave up after "
                             f"{time.monotonic() - started:.0f} s (wait longer, or use a Chroma server: "
                             "--chroma-url)") from None

    def _write_holder(self) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "owner": self.owner,
                "since": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
        try:
            draft = self.folder / HOLDER_DRAFT
            draft.write_text(json.dumps(info), encoding="utf-8")
            os.replace(draft, self.folder / HOLDER_NAME)
        except OSError:  # the note is a courtesy to whoever waits; the lock is what matters
            pass

    def release(self) -> None:
        """Let go (once per acquire); the last release in this process frees the folder."""
        if not self._held:
            return
        self._held = False
        if self._lock.lock_counter == 1:
            try:
                (self.folder / HOLDER_NAME).unlink()
            except OSError:
                pass
        self._lock.release()
