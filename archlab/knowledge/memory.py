"""The experiment memory: Chroma collections plus the queries agents need.

Four collections per embedder: `experiments` (the embedded text of each
record), `structures` (the structural vector of each tree, independent of
text, with the Result JSON for dedup), `insights` (distilled lessons) and
`principles` (the seed library). Rows are keyed `campaign/id`, so campaigns can share one memory.
Every query returns small dicts ready to put into a prompt.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from chromadb.api.models.Collection import Collection

from archlab.knowledge import views
from archlab.knowledge.chroma import max_batch, open_http, open_persistent
from archlab.knowledge.embedders import TextEmbedder, make_embedder
from archlab.errors import one_line
from archlab.knowledge.errors import KnowledgeError
from archlab.knowledge.experiment import ExperimentRecord
from archlab.knowledge.folder_lock import FolderLock
from archlab.knowledge.principles import load_principles
from archlab.knowledge.ranking import top_rows
from archlab.knowledge.structure import size_mask, structural_vector
from archlab.records import Result

# Failures that depend only on the structure (and task), so a retry would fail the
# same way. Not "constraint": constraints differ between campaigns sharing a memory.
DETERMINISTIC_FAILURES = {"invalid", "compile"}
_POOL = 4  # candidates fetched per wanted result when two rankings are fused
_ANY = {"$gte": -1e30}  # "the key is present" for a numeric metadata field
# What each tensor kind is, in the words the principles' goals use.
TENSOR_KIND_WORDS = {"vector": "feature vectors, tabular columns", "seq": "a signal, 1-d sequence, local patterns",
                     "image": "an image, 2-d pixels, local patterns", "tokens": "tokens, sequence"}
_PRINCIPLE_ROWS = "rows2"  # the layout of a principle's row (2: with applies_to)


def _where(*clauses: dict | None) -> dict | None:
    """Chroma's filter from optional clauses ($and needs two or more)."""
    present = [clause for clause in clauses if clause]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"$and": present}


def _eq(**fields: Any) -> list[dict]:
    return [{key: value} for key, value in fields.items() if value is not None]


def _arch_and_sizes(arch: Any, params: int | None, flops: int | None) -> tuple[Any, int | None, int | None]:
    if isinstance(arch, ExperimentRecord):
        return arch.arch, params or arch.result.params, flops or arch.result.flops
    return arch, params, flops


class Memory:
    """Remembers experiments, insights and principles; answers agents' questions.

    `path` is an index folder (embedded Chroma), `url` a Chroma server; give one.
    `embedder` is "minilm" (default), "hashing", or a TextEmbedder instance.
    `rebuilt_reason` says why the index was started afresh (None if it was not).

    An embedded folder is held by one process at a time, from open to `close`
    (see folder_lock.py): another process waits, with one line saying who holds it
    (`on_wait(line)`, else a MemoryBusyWarning), for at most `lock_timeout_s` seconds
    (None: as long as it takes; 0: not at all), then raises MemoryBusy. `owner` names
    this holder in the other's line (e.g. "campaign alpha"). A server is not locked.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        url: str | None = None,
        embedder: str | TextEmbedder = "minilm",
        principles_path: Path | None = None,
        *,
        owner: str | None = None,
        lock_timeout_s: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        if (path is None) == (url is None):
            raise KnowledgeError("Memory needs exactly one of path (an index folder) or url (a chroma server)")
        self.embedder = make_embedder(embedder)
        self._folder_lock: FolderLock | None = None
        if url is not None:
            self._client, self.rebuilt_reason = open_http(url), None
        else:
            folder = Path(path).resolve()
            if folder.exists() and not folder.is_dir():
                raise KnowledgeError(f"memory path {folder} is a file, not a folder")
            self._folder_lock = FolderLock(folder, owner, lock_timeout_s, on_wait)
            self._folder_lock.acquire()
        try:
            if url is None:
                self._client, self.rebuilt_reason = open_persistent(folder)
            self.location = url if url is not None else str(Path(path))
            suffix = self.embedder.name
            self._experiments = self._collection(f"experiments-{suffix}", "cosine")
            self._structures = self._collection(f"structures-{suffix}", "l2")
            self._insights = self._collection(f"insights-{suffix}", "cosine")
            self._principles = self._collection(f"principles-{suffix}", "cosine")
            self._batch = max_batch(self._client)
            self._seed_principles(principles_path)
        except BaseException:
            if self._folder_lock is not None:
                self._folder_lock.release()
            raise

    # -- lifecycle -------------------------------------------------------

    def _collection(self, name: str, space: str) -> Collection:
        # embedding_function=None: Chroma's default would download a model.
        try:
            return self._client.get_or_create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": space}}
            )
        except Exception:  # another client of the same server created it a moment ago
            return self._client.get_collection(name, embedding_function=None)

    def close(self) -> None:
        """Release the index and, for a folder, the lock on it (a later Memory opens it afresh)."""
        try:
            close = getattr(self._client, "close", None)
            if close is not None:
                close()
        finally:
            if self._folder_lock is not None:
                self._folder_lock.release()

    def __enter__(self) -> "Memory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory({self.location!r}, embedder={self.embedder.name!r}, experiments={self.count()})"

    def _seed_principles(self, principles_path: Path | None) -> None:
        """Embed the principle library once, and again whenever the YAML changes."""
        principles, fingerprint = load_principles(principles_path)
        fingerprint = f"{fingerprint}-{_PRINCIPLE_ROWS}"  # rows of an older layout are seeded again
        stored = self._principles.get(where={"fingerprint": fingerprint}, include=[])
        if len(stored["ids"]) == len(principles) == self._principles.count():
            return
        old = self._principles.get(include=[])["ids"]
        if old:
            self._principles.delete(ids=old)
        self._principles.upsert(  # upsert: another client of the same server may seed at the same time
            ids=[principle.name for principle in principles],
            embeddings=self.embedder.embed([principle.document() for principle in principles]),
            documents=[principle.document() for principle in principles],
            metadatas=[
                {
                    "name": principle.name,
                    "title": principle.title,
                    "rationale": principle.rationale,
                    "edits": " | ".join(principle.edits),
                    "applies_to": " ".join(principle.applies_to),
                    "fingerprint": fingerprint,
                }
                for principle in principles
            ],
        )

    # -- writing ---------------------------------------------------------

    def add(self, record: ExperimentRecord) -> None:
        """Index one experiment (again, if it is already there: upsert)."""
        self.add_many([record])

    def add_many(self, records: Iterable[ExperimentRecord]) -> int:
        """Index many experiments in batches; returns how many were written."""
        unique = {record.key: record for record in records}  # last one wins
        batch = list(unique.values())
        for start in range(0, len(batch), self._batch):
            self._upsert(batch[start : start + self._batch])
        return len(batch)

    def _upsert(self, records: Sequence[ExperimentRecord]) -> None:
        metas, documents, shapes = zip(*(views.record_rows(record) for record in records))
        self._upsert_rows(records, list(metas), self.embedder.embed(list(documents)), np.stack(shapes))

    def add_rows(self, records: Sequence[ExperimentRecord], metas: Sequence[dict[str, Any]],
                 texts: np.ndarray, shapes: np.ndarray) -> None:
        """Index records whose rows were made already (`views.record_rows`, the document embedded
        by this memory's embedder): a lightweight campaign's own index makes them as each record
        comes, so they are not made again when its batch is written. Keys must be distinct."""
        for start in range(0, len(records), self._batch):
            end = start + self._batch
            self._upsert_rows(records[start:end], metas[start:end], texts[start:end], shapes[start:end])

    def _upsert_rows(self, records: Sequence[ExperimentRecord], metas: Sequence[dict[str, Any]],
                     texts: np.ndarray, shapes: np.ndarray) -> None:
        keys = [record.key for record in records]
        # No Chroma documents: Chroma builds a full-text index over them, which
        # halves insert speed, and nothing here searches text by keyword.
        self._experiments.upsert(ids=keys, embeddings=texts, metadatas=list(metas))
        self._structures.upsert(
            ids=keys, embeddings=shapes,
            metadatas=[{**views.filter_metadata(meta), "result": record.result.model_dump_json()}
                       for meta, record in zip(metas, records)],
        )

    def add_insight(self, text: str, campaign: str, meta: dict[str, Any] | None = None) -> str:
        """Remember a distilled insight; the same text in the same campaign is stored once."""
        return self.add_insights([(text, campaign, meta)])[0]

    def add_insights(self, items: Sequence[tuple[str, str, dict[str, Any] | None]]) -> list[str]:
        """Many (text, campaign, meta) insights in one embedding pass; returns their keys."""
        if any(not text.strip() for text, _, _ in items):
            raise KnowledgeError("an insight needs some text")
        keys = ["ins-" + hashlib.sha256(f"{campaign}\n{text}".encode()).hexdigest()[:20] for text, campaign, _ in items]
        rows = {key: (text, {**views.flat_meta(meta), "campaign": campaign})
                for key, (text, campaign, meta) in zip(keys, items)}  # a repeated insight: last meta wins
        unique = list(rows)
        for start in range(0, len(unique), self._batch):
            chunk = unique[start : start + self._batch]
            texts = [rows[key][0] for key in chunk]
            self._insights.upsert(ids=chunk, embeddings=self.embedder.embed(texts), documents=texts,
                                  metadatas=[rows[key][1] for key in chunk])
        return keys

    def reindex(self, campaign_dir: Path | str, **options: bool):
        """Index a campaign folder into this memory (see archlab.knowledge.reindex)."""
        from archlab.knowledge.reindex import reindex  # reindex.py imports this module

        return reindex(campaign_dir, self, **options)

    def forget(self, campaign: str) -> None:
        """Drop one campaign's experiments and insights (before a clean reindex)."""
        for collection in (self._experiments, self._structures, self._insights):
            collection.delete(where={"campaign": campaign})

    # -- reading ---------------------------------------------------------

    def count(self, campaign: str | None = None) -> int:
        """How many experiments are indexed (in one campaign, or in all)."""
        if campaign is None:
            return self._experiments.count()
        return len(self._experiments.get(where={"campaign": campaign}, include=[])["ids"])

    def known(self, keys: Sequence[str]) -> set[str]:
        """Which of the given `campaign/id` keys are indexed in both collections."""
        found: set[str] = set()
        for start in range(0, len(keys), self._batch):  # SQLite caps the ids in one query
            chunk = list(keys[start : start + self._batch])
            texts = set(self._experiments.get(ids=chunk, include=[])["ids"])
            found |= texts & set(self._structures.get(ids=chunk, include=[])["ids"])
        return found

    @staticmethod
    def _safely(read: Callable[[], Any]) -> Any:
        """Run a Chroma read; its long errors (a bad filter, say) become one line."""
        try:
            return read()
        except KnowledgeError:
            raise
        except Exception as error:
            raise KnowledgeError(f"query failed: {one_line(error)}") from None

    def _query(self, collection: Collection, vector: np.ndarray, n: int, where: dict | None,
               include: Sequence[str] = ("embeddings",)) -> dict[str, Any]:
        """Chroma's nearest-n query."""
        return self._safely(lambda: collection.query(
            query_embeddings=[vector], n_results=max(1, n), where=where, include=list(include)))

    def _nearest(self, collection: Collection, vector: np.ndarray, n: int, where: dict | None) -> dict[str, Any]:
        """Keys and stored vectors of the n nearest rows.

        Metadata is fetched later for the final k only: reading it is the slow
        part of a Chroma query (about 0.2 ms a row), the vectors are cheap.
        """
        found = self._query(collection, vector, n, where)
        return dict(zip(found["ids"][0], found["embeddings"][0]))

    @staticmethod
    def _vectors(collection: Collection, keys: set[str]) -> dict[str, Any]:
        if not keys:
            return {}
        got = collection.get(ids=sorted(keys), include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"]))

    def similar(
        self,
        arch: Any = None,
        text: str | None = None,
        k: int = 5,
        *,
        params: int | None = None,
        flops: int | None = None,
        campaign: str | None = None,
        status: str | None = None,
        family: str | None = None,
        where: dict | None = None,
        exclude: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """The k experiments most like a candidate, by structure, by text, or both.

        `arch` is an Arch, its JSON (dict or str) or an ExperimentRecord (whose
        params and FLOPs are then used). Unknown params/FLOPs are left out of the
        structural distance rather than guessed. Distances: Euclidean on the
        structural vector, cosine on text; with both, each is scaled to [0, 1]
        and the two are averaged. `exclude` lists `campaign/id` keys to leave
        out (e.g. the candidate itself). Lower distance is closer. `where` is a
        Chroma filter on the stored fields (campaign, status, failure, family,
        task, strategy, generation, fidelity, arch_hash, created_ts and the
        metrics in views.METRICS); filters make Chroma queries slower.
        """
        if arch is None and not text:
            raise KnowledgeError("similar() needs an arch, a text, or both")
        arch, params, flops = _arch_and_sizes(arch, params, flops)
        filters = _where(*_eq(campaign=campaign, status=status, family=family), where)
        wanted = k + len(exclude)
        both = arch is not None and bool(text)
        pool = wanted * _POOL if both else wanted
        shapes: dict[str, Any] = {}
        texts: dict[str, Any] = {}
        if arch is not None:
            shape_query, mask = structural_vector(arch, params, flops), size_mask(params, flops)
            # Unknown sizes: fetch extra so the masked distance can re-rank the pool.
            shapes = self._nearest(self._structures, shape_query, max(pool, 20) if mask.min() == 0 else pool, filters)
        if text:
            text_query = self.embedder.embed([text])[0]
            texts = self._nearest(self._experiments, text_query, pool, filters)
        if both:  # every candidate gets both distances
            shapes.update(self._vectors(self._structures, texts.keys() - shapes.keys()))
            texts.update(self._vectors(self._experiments, shapes.keys() - texts.keys()))

        def distance(key: str) -> float:
            shape = float(np.linalg.norm((np.asarray(shapes[key]) - shape_query) * mask)) if key in shapes else math.inf
            cosine = 1.0 - float(np.dot(texts[key], text_query)) if key in texts else math.inf
            if not both:
                return shape if arch is not None else cosine
            return 0.5 * (1.0 - 1.0 / (1.0 + shape)) + 0.25 * cosine

        scores = {key: distance(key) for key in (shapes.keys() | texts.keys()) - set(exclude)}
        top = sorted(scores, key=lambda key: (scores[key], key))[:k]
        metas = self._metadata(top)
        return [views.compact_experiment(metas[key], scores[key]) for key in top if key in metas]

    def _metadata(self, keys: list[str]) -> dict[str, dict]:
        if not keys:
            return {}
        got = self._experiments.get(ids=keys, include=["metadatas"])
        return dict(zip(got["ids"], got["metadatas"]))

    def _ranked(self, k: int, metric: str, best_first: bool, family, campaign, where) -> list[dict]:
        if metric not in views.METRICS:
            raise KnowledgeError(f"unknown metric {metric!r}; choose one of {list(views.METRICS)}")
        filters = _where(*_eq(status="ok", family=family, campaign=campaign), {metric: _ANY}, where)
        higher_first = best_first != (metric in views.LOWER_IS_BETTER)
        rows = self._safely(lambda: top_rows(self._experiments, filters, metric, k, higher_first))
        return [views.compact_experiment(meta) for meta in rows]

    def best(self, k: int = 5, family: str | None = None, *, campaign: str | None = None,
             metric: str = "val_accuracy", where: dict | None = None) -> list[dict[str, Any]]:
        """The k best successful experiments by a validation metric (ties: oldest first)."""
        return self._ranked(k, metric, True, family, campaign, where)

    def worst(self, k: int = 5, family: str | None = None, *, campaign: str | None = None,
              metric: str = "val_accuracy", where: dict | None = None) -> list[dict[str, Any]]:
        """The k worst successful experiments: what not to repeat."""
        return self._ranked(k, metric, False, family, campaign, where)

    def failures(self, k: int = 5, arch: Any = None, text: str | None = None, *,
                 campaign: str | None = None) -> list[dict[str, Any]]:
        """Failed experiments to avoid: the most similar to `arch`/`text`, else the latest."""
        if arch is not None or text:
            return self.similar(arch, text, k, status="failed", campaign=campaign)
        filters = _where(*_eq(status="failed", campaign=campaign))
        rows = self._safely(lambda: top_rows(self._experiments, filters, "created_ts", k, descending=True))
        return [views.compact_experiment(meta) for meta in rows]

    def insights_for(self, direction: str, k: int = 5, *, campaign: str | None = None) -> list[dict[str, Any]]:
        """The k stored insights nearest to a research direction."""
        if not direction.strip():
            raise KnowledgeError("insights_for() needs a direction text")
        found = self._insights.query(
            query_embeddings=self.embedder.embed([direction]), n_results=max(1, k),
            where=_where(*_eq(campaign=campaign)), include=["documents", "metadatas", "distances"],
        )
        return [views.compact_insight(text, meta, distance) for text, meta, distance in
                zip(found["documents"][0], found["metadatas"][0], found["distances"][0])]

    def principles_for(self, goal: str, k: int = 3, tensor_kind: str | None = None) -> list[dict[str, Any]]:
        """The k design principles nearest to a goal (or direction) text, with the edits that realise
        them, preferred first; with `tensor_kind` (vector, seq, image, tokens) only those whose
        `applies_to` names it or is empty. Nearest first, ties by name."""
        if not goal.strip():
            raise KnowledgeError("principles_for() needs a goal text")
        # The kind of input is part of the question, as a reader of the task would ask it ("a small
        # accurate model" for images is not the one for feature columns).
        query = f"{goal} (input: {TENSOR_KIND_WORDS[tensor_kind]})" if tensor_kind in TENSOR_KIND_WORDS else goal
        count = self._principles.count()  # a small library: rank it all, then filter by kind
        found = self._query(self._principles, self.embedder.embed([query])[0], count, None,
                            include=("metadatas", "distances"))
        rows = [views.compact_principle(meta, distance)
                for meta, distance in zip(found["metadatas"][0], found["distances"][0])]
        if tensor_kind is not None:
            rows = [row for row in rows if not row["applies_to"] or tensor_kind in row["applies_to"]]
        return sorted(rows, key=lambda row: (row["distance"], row["name"]))[: max(0, k)]

    @property
    def exclusive(self) -> bool:
        """True for an embedded folder: this process holds its lock, so nobody else writes it
        while it is open (a Chroma server takes other writers at any time)."""
        return self._folder_lock is not None

    def stored_results(self) -> list[tuple[str, dict[str, Any]]]:
        """Every stored experiment's key and the fields `lookup` reads (arch_hash, fidelity, task,
        status, failure, created_ts, result JSON): a snapshot for an in-process dedup index."""
        rows: list[tuple[str, dict[str, Any]]] = []
        while True:
            got = self._structures.get(include=["metadatas"], limit=self._batch, offset=len(rows))
            rows.extend(zip(got["ids"], got["metadatas"]))
            if len(got["ids"]) < self._batch:
                return rows

    def lookup(self, arch_hash: str, fidelity: float, task: str | None = None) -> Result | None:
        """A stored Result for this structure at this fidelity, marked cached; else None.

        Successful results are reused, and failures that depend only on the
        structure (invalid, compile); a timeout or crash is retried. Pass `task`
        when several tasks share the memory.
        Several matches: the oldest wins, so replays reuse the same one.
        """
        filters = _where({"arch_hash": arch_hash}, {"fidelity": {"$gte": fidelity - 1e-9}},
                         {"fidelity": {"$lte": fidelity + 1e-9}}, *_eq(task=task))
        found = self._structures.get(where=filters, include=["metadatas"])["metadatas"]
        usable = [meta for meta in found if meta["status"] == "ok" or meta["failure"] in DETERMINISTIC_FAILURES]
        if not usable:
            return None
        first = min(usable, key=lambda meta: (meta["status"] != "ok", meta["created_ts"]))
        return Result.model_validate_json(first["result"]).model_copy(update={"cached": True})
