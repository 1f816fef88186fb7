"""How a record is stored in Chroma, and how it comes back: compact and prompt-ready.

Chroma metadata holds only flat scalars (no None, no lists), so a record is
flattened here; a query result is turned back into a small dict an agent's
prompt can show as one line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archlab.knowledge.errors import KnowledgeError
from archlab.knowledge.experiment import ExperimentRecord
from archlab.knowledge.structure import arch_family, arch_summary, edit_summary, structural_vector, tree_stats

# Metrics that may be filtered on and sorted by; missing values are simply absent.
METRICS = ("val_accuracy", "val_loss", "test_accuracy", "params", "flops", "latency_ms", "wall_s")
LOWER_IS_BETTER = {"val_loss", "params", "flops", "latency_ms", "wall_s"}


def headline(error: str, limit: int = 200) -> str:
    """The first line of a failure's text (its traceback tail stays in the record), shortened:
    the metadata a prompt shows keeps what failed, not where."""
    lines = error.strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def record_rows(record: ExperimentRecord) -> tuple[dict[str, Any], str, np.ndarray]:
    """A record as Chroma stores it: flat metadata, the embedded text, the structural vector.

    The tree is walked and summarised once here (indexing speed matters on reindex).
    """
    result = record.result
    walked = tree_stats(record.arch)
    summary = arch_summary(record.arch, limit=400)
    edit = edit_summary(record.edit)
    meta: dict[str, Any] = {
        "exp_id": record.id,
        "campaign": record.campaign,
        "generation": record.generation,
        "parents": ",".join(record.parent_ids),
        "status": result.status,
        "failure": result.failure or "",
        "error": headline(result.error) if result.error else "",
        "fidelity": float(result.fidelity),
        "arch_hash": record.arch_hash,
        "family": arch_family(record.arch, walked),
        "strategy": record.strategy,
        "task": record.task,
        "summary": summary if len(summary) <= 160 else summary[:159] + "…",
        "edit": edit,
        "created_ts": record.created_at.timestamp(),
    }
    for metric in METRICS:
        value = getattr(result, metric)
        if value is not None:
            meta[metric] = value
    outcome = (
        f"val accuracy {result.val_accuracy:.4f}" if result.ok and result.val_accuracy is not None
        else f"failed: {result.failure or 'unknown'} {meta['error']}"
    )
    # Facts only (tree, edit, outcome): the analyst's prose goes to the insights
    # collection. So an index rebuilt from record.json files (which carry the
    # analysis) embeds exactly what the live campaign embedded (which adds records
    # before their analysis), and replays after a reindex decide the same.
    document = f"architecture: {summary}\nedit: {edit}\noutcome: {outcome}"
    vector = structural_vector(record.arch, result.params, result.flops, walked)
    return meta, document, vector


# Shown in prompts but never filtered on: kept only in the experiments collection,
# so the structures collection (filters + Result) stays cheap to write.
DISPLAY_ONLY = ("parents", "error", "summary", "edit")


def filter_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """The filterable part of a record's metadata."""
    return {key: value for key, value in meta.items() if key not in DISPLAY_ONLY}


def record_document(record: ExperimentRecord) -> str:
    """The text embedded for a record: what it is, how it was made, how it did."""
    return record_rows(record)[1]


def flat_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """User metadata made Chroma-safe: lists joined, None dropped, nesting refused."""
    flat: dict[str, Any] = {}
    for key, value in (meta or {}).items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(str(item) for item in value)
        if not isinstance(value, (str, int, float, bool)):
            raise KnowledgeError(f"metadata {key!r} must be a scalar or a list, got {type(value).__name__}")
        flat[key] = value
    return flat


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def compact_experiment(meta: dict[str, Any], distance: float | None = None) -> dict[str, Any]:
    """One experiment for a prompt: id, tree one-liner, edit, accuracy, size, status."""
    row: dict[str, Any] = {
        "id": meta.get("exp_id"),
        "campaign": meta.get("campaign"),
        "arch": meta.get("summary"),
        "edit": meta.get("edit"),
        "val_accuracy": _rounded(meta.get("val_accuracy")),
        "params": meta.get("params"),
        "status": meta.get("status"),
    }
    if meta.get("status") == "failed":
        row["failure"] = meta.get("failure") or None
        row["error"] = meta.get("error") or None
    if distance is not None:
        row["distance"] = round(float(distance), 4)
    return row


def compact_insight(text: str, meta: dict[str, Any], distance: float | None) -> dict[str, Any]:
    row = {"text": text, "campaign": meta.get("campaign")}
    row.update({k: v for k, v in meta.items() if k not in ("campaign", "created_ts")})
    if distance is not None:
        row["distance"] = round(float(distance), 4)
    return row


def compact_principle(meta: dict[str, Any], distance: float | None) -> dict[str, Any]:
    return {
        "name": meta["name"],
        "title": meta["title"],
        "rationale": meta["rationale"],
        "edits": meta["edits"].split(" | "),
        "applies_to": str(meta.get("applies_to") or "").split(),
        "distance": round(float(distance), 4) if distance is not None else None,
    }
