"""The records log: a lightweight campaign's experiments as one append-only JSON-lines file.

A lookup-table campaign finishes hundreds of experiments a second. A folder and a file per
experiment (and git hashing each of them at the end) cost more than the experiment itself,
so a lightweight campaign appends each record as one line to `experiments/records.jsonl`
instead of writing `experiments/<id>/record.json`. Readers (the campaign folder, the report,
reindex) take records from both places; the log never holds model.py or weights (a
lightweight campaign renders model.py on demand).

A kill -9 can leave at most a partial last line: readers skip it (and any line that is not
a JSON object with an `id`), and a resume cuts the log back to its recorded prefix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

LOG_NAME = "records.jsonl"


def log_path(campaign_dir: Path | str) -> Path:
    """Where a campaign folder's records log lives."""
    return Path(campaign_dir) / "experiments" / LOG_NAME


def read_log(path: Path | str) -> list[dict[str, Any]]:
    """The complete records of a log, in the order they were appended (none if it is absent)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    records = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:  # a line cut short by a kill -9 (only ever the last one)
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            records.append(record)
    return records


class RecordLog:
    """Appends records to one log file, a line each, flushed as written (a kill -9 loses none
    that `append` returned from: the bytes are in the kernel's page cache)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._handle: IO[str] | None = None

    def append(self, record_json: str) -> None:
        """Add one record, given as compact JSON text (no newline inside)."""
        if "\n" in record_json:
            raise ValueError("a logged record must be one line of JSON")
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held for the run
        self._handle.write(record_json + "\n")
        self._handle.flush()

    def keep(self, ids: set[str]) -> list[str]:
        """Rewrite the log with only the records in `ids` (and no partial line); returns the
        ids of the records dropped. The rewrite goes through a temp file and a rename."""
        self.close()
        records = read_log(self.path)
        kept = [record for record in records if record["id"] in ids]
        dropped = [record["id"] for record in records if record["id"] not in ids]
        if not self.path.exists() or (not dropped and _ends_cleanly(self.path)):
            return dropped
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text("".join(json.dumps(record, separators=(",", ":")) + "\n" for record in kept),
                       encoding="utf-8")
        os.replace(tmp, self.path)
        return dropped

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _ends_cleanly(path: Path) -> bool:
    """True when the log is empty or its last byte ends a line."""
    size = path.stat().st_size
    if size == 0:
        return True
    with open(path, "rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) == b"\n"
