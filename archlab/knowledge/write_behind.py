"""A memory that batches its experiment writes, for lightweight (benchmark) campaigns.

One Chroma upsert costs milliseconds whatever its size, which caps a lookup-table
campaign at a few hundred queries per second. `WriteBehindMemory` keeps added
experiments in a list and writes them in one batch, before any query that could
see them (`similar`, `best`, ...) and on `flush`/`close`. The one query a campaign
makes at every step, `lookup` (the cache by structure), merges the pending records
by the same rule as `Memory.lookup`, so every answer is the one an immediately
written memory would give: decisions do not change, only the number of upserts.
A crash loses nothing either: the campaign folder holds every record, and
`open_memory` indexes what the index lacks.
"""

from __future__ import annotations

from typing import Any

from archlab.knowledge.experiment import ExperimentRecord
from archlab.knowledge.memory import DETERMINISTIC_FAILURES, Memory
from archlab.records import Result


class WriteBehindMemory:
    """Wraps a `Memory`: `add` is deferred, `lookup` sees pending rows, anything else flushes first."""

    def __init__(self, memory: Memory, batch: int = 512) -> None:
        self.memory = memory
        self.batch = batch
        self._pending: list[ExperimentRecord] = []

    def add(self, record: ExperimentRecord) -> None:
        self._pending.append(record)
        if len(self._pending) >= self.batch:
            self.flush()

    def add_many(self, records: Any) -> int:
        records = list(records)
        self._pending.extend(records)
        self.flush()
        return len(records)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self.memory.add_many(pending)

    def lookup(self, arch_hash: str, fidelity: float, task: str | None = None) -> Result | None:
        """`Memory.lookup` over the index and the pending records together."""
        stored = self.memory.lookup(arch_hash, fidelity, task)
        candidates = [] if stored is None else [(stored.status != "ok", _STORED, stored)]
        for record in self._pending:
            result = record.result
            if (record.arch_hash != arch_hash or abs(float(result.fidelity) - fidelity) > 1e-9
                    or (task is not None and record.task != task)):
                continue
            if result.status == "ok" or (result.failure or "") in DETERMINISTIC_FAILURES:
                candidates.append((result.status != "ok", record.created_at.timestamp(), result))
        if not candidates:
            return None
        # The index holds only records added before every pending one: on a tie of status
        # the stored one is the oldest, exactly as one query over everything would choose.
        best = min(candidates, key=lambda c: (c[0], c[1]))[2]
        return best if best.cached else best.model_copy(update={"cached": True})

    def close(self) -> None:
        self.flush()
        self.memory.close()

    def __getattr__(self, name: str) -> Any:
        """Every other query sees what was added: flush, then ask the memory."""
        attribute = getattr(self.memory, name)
        if callable(attribute):
            def flushed(*args: Any, **kwargs: Any) -> Any:
                self.flush()
                return attribute(*args, **kwargs)
            return flushed
        return attribute


_STORED = float("-inf")  # sorts a stored match before every pending one of the same status
