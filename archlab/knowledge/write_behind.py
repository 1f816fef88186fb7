"""A memory that batches its experiment writes, for lightweight (benchmark) campaigns.

One Chroma upsert costs milliseconds whatever its size, which caps a lookup-table
campaign at a few hundred queries per second. `WriteBehindMemory` keeps added
experiments in a list and writes them in one batch, before any query that could
see them (`similar`, `best`, ...) and on `flush`/`close`. The one query a campaign
makes at every step, `lookup` (the cache by structure), merges the pending records
by the same rule as `Memory.lookup`, so every answer is the one an immediately
written memory would give: decisions do not change, only the number of upserts.
A crash loses nothing either: the campaign folder holds every record, and
`open_memory` indexes what the index lacks. On an embedded folder (which this process
alone holds while it is open, see folder_lock.py) `lookup` does not even ask Chroma:
`KnownResults` keeps what it reads of every stored row (a snapshot taken at open, plus
every add), so the answer is the same with no query per step. A Chroma server takes
other writers at any time, so there `lookup` still asks it.

With `own` (the campaign's experiments already on disk, e.g. a resume's prefix)
the memory also keeps an in-process index of the campaign's own experiments, and
`similar` and `best` are answered from it without a Chroma round trip or a flush:
a lookup-table campaign asks for similar experiments at every step, and each
Chroma query (plus the flush before it) cost more than the rest of the step.
`OwnExperiments` stores exactly what Chroma stores for a record (the same
document embedding, structural vector and metadata) and ranks by the same
distances and tie-breaks as `Memory.similar` and `Memory.best`, so over a memory
that holds only this campaign every answer is the same; rows of other campaigns
in a shared memory are not consulted (the shared memory is still written, in
batches, and `lookup` still reads it). What no index can copy: where rows
tie exactly at the edge of a candidate pool (`similar` first fetches the nearest
few by structure and by text), Chroma keeps those its graph happens to reach
first (and its graph may strand rows whose vectors duplicate others'); here the
lower keys are kept. And Chroma renormalises the text vectors of its cosine
collection as it stores them, which moves a float32 ulp here and there: rows
whose distances agree to ~1e-9 may come in the other order there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from archlab.knowledge import views
from archlab.knowledge.embedders import TextEmbedder
from archlab.knowledge.errors import KnowledgeError
from archlab.knowledge.experiment import ExperimentRecord
from archlab.knowledge.memory import _POOL, DETERMINISTIC_FAILURES, Memory, _arch_and_sizes
from archlab.knowledge.structure import size_mask, structural_vector
from archlab.records import Result


class WriteBehindMemory:
    """Wraps a `Memory`: `add` is deferred, `lookup` sees pending rows, anything else flushes first;
    with `own`, `similar` and `best` are answered from the campaign's own experiments, in process."""

    def __init__(self, memory: Memory, batch: int = 512, own: Iterable[ExperimentRecord] | None = None) -> None:
        self.memory = memory
        self.batch = batch
        self._pending: list[ExperimentRecord] = []
        self.own: OwnExperiments | None = None
        if own is not None:
            self.own = OwnExperiments(memory.embedder)
            for record in own:
                self.own.add(record)
        # An embedded folder is written by this process alone while it is open: a snapshot of
        # its results plus every add answers `lookup` exactly, with no Chroma query per step.
        self.results: KnownResults | None = KnownResults(memory.stored_results()) if memory.exclusive else None

    def add(self, record: ExperimentRecord) -> None:
        if self.own is not None:
            self.own.add(record)
        if self.results is not None:
            self.results.add(record)
        self._pending.append(record)
        if len(self._pending) >= self.batch:
            self.flush()

    def similar(self, arch: Any = None, text: str | None = None, k: int = 5, **filters: Any) -> list[dict[str, Any]]:
        if self.own is not None and not filters:
            return self.own.similar(arch, text, k)
        self.flush()
        return self.memory.similar(arch, text, k, **filters)

    def best(self, k: int = 5, family: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        if self.own is not None and family is None and not filters:
            return self.own.best(k)
        self.flush()
        return self.memory.best(k, family, **filters)

    def add_many(self, records: Iterable[ExperimentRecord]) -> int:
        records = list(records)
        for record in records:
            self.add(record)
        self.flush()
        return len(records)

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if self.own is None:
            self.memory.add_many(pending)
        else:  # the own index made each record's rows as it came: written as they are (last one wins)
            latest = list({record.key: record for record in pending}.values())
            self.memory.add_rows(latest, *self.own.rows([record.key for record in latest]))

    def lookup(self, arch_hash: str, fidelity: float, task: str | None = None) -> Result | None:
        """`Memory.lookup` over the index and the pending records together (from the in-process
        snapshot on an embedded folder; a server is asked, since others may have written it)."""
        if self.results is not None:
            return self.results.lookup(arch_hash, fidelity, task)
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

    def principles_for(self, goal: str, k: int = 3, tensor_kind: str | None = None) -> list[dict[str, Any]]:
        """The library's principles: no experiment is among them, so nothing is flushed."""
        return self.memory.principles_for(goal, k, tensor_kind=tensor_kind)

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


class KnownResults:
    """What `Memory.lookup` reads of every stored experiment, by structure, in process: the rows of
    an embedded folder when it was opened, then every experiment added since (an upsert by key
    replaces its row, as in Chroma). Answers by the same rule as `Memory.lookup`."""

    def __init__(self, stored: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self._rows: dict[str, tuple[str, float, str, bool, str, float, Any]] = {}  # key -> row
        self._by_hash: dict[str, set[str]] = {}
        for key, meta in stored:
            self._put(key, meta["arch_hash"], float(meta["fidelity"]), meta.get("task", ""),
                      meta["status"] == "ok", meta.get("failure") or "", float(meta["created_ts"]), meta["result"])

    def add(self, record: ExperimentRecord) -> None:
        result = record.result
        self._put(record.key, record.arch_hash, float(result.fidelity), record.task, result.status == "ok",
                  result.failure or "", record.created_at.timestamp(), result)

    def _put(self, key: str, arch_hash: str, fidelity: float, task: str, ok: bool, failure: str,
             created_ts: float, result: Any) -> None:
        old = self._rows.get(key)
        if old is not None:
            self._by_hash[old[0]].discard(key)
        self._rows[key] = (arch_hash, fidelity, task, ok, failure, created_ts, result)
        self._by_hash.setdefault(arch_hash, set()).add(key)

    def lookup(self, arch_hash: str, fidelity: float, task: str | None = None) -> Result | None:
        usable = [(key, row) for key, row in ((key, self._rows[key]) for key in self._by_hash.get(arch_hash, ()))
                  if abs(row[1] - fidelity) <= 1e-9 and (task is None or row[2] == task)
                  and (row[3] or row[4] in DETERMINISTIC_FAILURES)]
        if not usable:
            return None
        # The oldest wins, successes first (an exact tie of timestamps: the lower key).
        first = min(usable, key=lambda item: (not item[1][3], item[1][5], item[0]))[1][6]
        result = Result.model_validate_json(first) if isinstance(first, str) else first
        return result.model_copy(update={"cached": True})


class OwnExperiments:
    """One campaign's experiments, indexed in process; `similar` and `best` as `Memory` answers them.

    Vectors are kept as Chroma stores them (float32, widened to float64), because
    `Memory.similar` computes its distances on those: the same arithmetic, row by row, gives
    the same bits, so near-ties are ordered as there (but for Chroma's renormalising of
    cosine vectors, see the module's docstring)."""

    def __init__(self, embedder: TextEmbedder) -> None:
        self.embedder = embedder
        self._index: dict[str, int] = {}  # key -> row; re-adding a key replaces its row (an upsert)
        self._keys: list[str] = []
        self._metas: list[dict[str, Any]] = []
        self._shapes = np.zeros((0, 0))
        self._texts = np.zeros((0, 0))
        # Each row's place in key order (ties in the pools); None: to be sorted again.
        self._key_rank: np.ndarray | None = np.zeros(0, dtype=np.intp)
        self._max_key = ""  # the last key in key order
        # Query vectors by query: a campaign asks about the same parent and direction text step
        # after step, and embedding or walking the tree again gives the same numbers.
        self._text_queries: dict[str, np.ndarray] = {}
        self._shape_queries: dict[tuple[str, int | None, int | None], np.ndarray] = {}

    def add(self, record: ExperimentRecord) -> None:
        meta, document, shape = views.record_rows(record)
        text = _as_stored(self.embedder.embed([document])[0])
        row = self._index.get(record.key)
        if row is None:
            row = self._index[record.key] = len(self._keys)
            self._keys.append(record.key)
            self._metas.append(meta)
            self._shapes = _grown(self._shapes, row, shape.size)
            self._texts = _grown(self._texts, row, text.size)
            self._key_rank = self._ranked_with_last_key()
        self._metas[row] = meta
        self._shapes[row] = _as_stored(shape)
        self._texts[row] = text

    def __len__(self) -> int:
        return len(self._keys)

    def rows(self, keys: list[str]) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
        """The stored rows of `keys` (metadata, document embedding, structural vector), as
        `Memory.add_rows` takes them: the float32 values `Memory.add_many` would hand Chroma."""
        at = [self._index[key] for key in keys]
        return ([self._metas[i] for i in at], self._texts[at].astype(np.float32),
                self._shapes[at].astype(np.float32))

    def similar(self, arch: Any = None, text: str | None = None, k: int = 5) -> list[dict[str, Any]]:
        """`Memory.similar(arch, text, k)`: the same pools (nearest by structure, by text), the
        same fused distance, the same order (distance, then key)."""
        if arch is None and not text:
            raise KnowledgeError("similar() needs an arch, a text, or both")
        arch, params, flops = _arch_and_sizes(arch, None, None)
        both = arch is not None and bool(text)
        pool = k * _POOL if both else k
        n = len(self._keys)
        if n == 0:
            return []
        shapes, texts = self._shapes[:n], self._texts[:n]
        rows: set[int] = set()
        shape_query = mask = text_query = None
        if arch is not None:
            shape_query, mask = self._shape_query(arch, params, flops), size_mask(params, flops)
            squared = ((shapes - shape_query) ** 2).sum(axis=1)
            rows |= self._nearest(squared, max(pool, 20) if mask.min() == 0 else pool)
        if text:
            text_query = self._text_query(text)
            rows |= self._nearest(1.0 - texts @ text_query, pool)
        order = sorted(rows)
        shape = cosine = [math.inf] * len(order)
        if shape_query is not None:
            # As Memory.similar computes each candidate's distance: the masked difference (taken
            # for all rows at once: elementwise, so the same numbers), then one dot product per
            # row, whose summation order decides near-ties.
            shape = [math.sqrt(float(d.dot(d))) for d in (shapes[order] - shape_query) * mask]
        if text_query is not None:
            cosine = [1.0 - float(np.dot(t, text_query)) for t in texts[order]]
        scores = {i: (0.5 * (1.0 - 1.0 / (1.0 + s)) + 0.25 * c if both else s if shape_query is not None else c)
                  for i, s, c in zip(order, shape, cosine)}
        top = sorted(scores, key=lambda i: (scores[i], self._keys[i]))[:k]
        return [views.compact_experiment(self._metas[i], scores[i]) for i in top]

    def _text_query(self, text: str) -> np.ndarray:
        """The embedding of a query text (memoised: the embedder is a pure function of the text)."""
        vector = self._text_queries.get(text)
        if vector is None:
            vector = self.embedder.embed([text])[0].astype(np.float64)
            vector.flags.writeable = False
            self._text_queries = _bounded(self._text_queries)
            self._text_queries[text] = vector
        return vector

    def _shape_query(self, arch: Any, params: int | None, flops: int | None) -> np.ndarray:
        """`structural_vector` of a query tree (memoised by the tree's JSON when it has one)."""
        dump = getattr(arch, "model_dump_json", None)
        if dump is None:
            return structural_vector(arch, params, flops)
        key = (dump(), params, flops)
        vector = self._shape_queries.get(key)
        if vector is None:
            vector = structural_vector(arch, params, flops)
            vector.flags.writeable = False
            self._shape_queries = _bounded(self._shape_queries)
            self._shape_queries[key] = vector
        return vector

    def best(self, k: int = 5) -> list[dict[str, Any]]:
        """`Memory.best(k)`: successful experiments by validation accuracy; ties oldest first."""
        rows = [m for m in self._metas if m["status"] == "ok" and m.get("val_accuracy") is not None]
        rows.sort(key=lambda m: (-m["val_accuracy"], m.get("created_ts", 0.0), m.get("campaign", ""),
                                 m.get("exp_id", "")))
        return [views.compact_experiment(meta) for meta in rows[:k]]

    def _ranked_with_last_key(self) -> np.ndarray | None:
        """The key ranks after a new key was appended: one that sorts after every other (a
        campaign's experiment ids grow) just takes the last place; any other, a new sort."""
        keys, ranks = self._keys, self._key_rank
        last, self._max_key = keys[-1], max(self._max_key, keys[-1])
        if ranks is None or len(ranks) != len(keys) - 1 or last != self._max_key:
            return None
        return np.append(ranks, len(keys) - 1)

    def _nearest(self, distances: np.ndarray, n: int) -> set[int]:
        """The rows of the n smallest distances (ties by key)."""
        if self._key_rank is None:
            self._key_rank = np.argsort(np.argsort(np.array(self._keys)))
        return set(np.lexsort((self._key_rank, distances))[: max(1, n)].tolist())


def _as_stored(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector, dtype=np.float32).astype(np.float64)


def _bounded(memo: dict) -> dict:
    """`memo`, emptied once it holds 256 entries (a campaign asks about few queries at a time)."""
    return memo if len(memo) < 256 else {}


def _grown(matrix: np.ndarray, rows: int, width: int) -> np.ndarray:
    """`matrix` with room for row `rows` (capacity doubles, so adds stay cheap)."""
    if matrix.shape[0] > rows:
        return matrix
    bigger = np.zeros((max(8, 2 * matrix.shape[0]), width))
    if rows:
        bigger[:rows] = matrix[:rows]
    return bigger
