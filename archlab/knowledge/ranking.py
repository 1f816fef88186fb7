"""The top k rows of a collection by one metadata value, without reading them all.

Chroma filters but cannot sort. Reading every row's metadata and sorting costs
about 0.2 ms a row (20 s at 100,000 rows), so for large sets a small sample
suggests a threshold, and only rows at or beyond it are read. The answer is
exact: when at least k rows pass the threshold, the top k are all among them;
otherwise a looser threshold, and finally a full read, is tried.
"""

from __future__ import annotations

from typing import Any

from chromadb.api.models.Collection import Collection

SAMPLE = 256  # rows read to pick a threshold; smaller sets are read whole


def _and(filters: dict | None, extra: dict) -> dict:
    return extra if not filters else {"$and": [filters, extra]}


def top_rows(collection: Collection, filters: dict | None, key: str, k: int, descending: bool) -> list[dict[str, Any]]:
    """Metadata of the k rows with the highest (or lowest) `key`; ties: oldest first, then id.

    Every row matching `filters` must carry `key` (include a presence filter).
    """
    if k <= 0:
        return []

    def order(meta: dict[str, Any]) -> tuple:
        value = meta[key]
        return (-value if descending else value, meta.get("created_ts", 0.0), meta.get("campaign", ""),
                meta.get("exp_id", ""))

    sample = collection.get(where=filters, limit=SAMPLE, include=["metadatas"])["metadatas"]
    if len(sample) < SAMPLE:  # the whole set fitted in the sample
        return sorted(sample, key=order)[:k]
    values = sorted((meta[key] for meta in sample), reverse=descending)
    bound = "$gte" if descending else "$lte"
    for rank in (0, k - 1, 4 * k - 1, SAMPLE // 4):  # the sample best first: at 100k ~400 rows pass it
        if rank >= len(values):
            break
        rows = collection.get(where=_and(filters, {key: {bound: values[rank]}}), include=["metadatas"])["metadatas"]
        if len(rows) >= k:
            return sorted(rows, key=order)[:k]
    rows = collection.get(where=filters, include=["metadatas"])["metadatas"]
    return sorted(rows, key=order)[:k]
