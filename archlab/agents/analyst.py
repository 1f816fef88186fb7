"""The analyst: a short factual analysis per experiment, and distilled insights per campaign."""

from __future__ import annotations

from typing import Any

from archlab import prompts
from archlab.agents.base import Agent, fallback_reason
from archlab.agents.schemas import MOVE_KINDS, Analysis, AnalysisAnswer, SummaryAnswer
from archlab.records import Result

_METRICS = ("status", "failure", "val_accuracy", "params", "flops", "latency_ms", "fidelity")


def _plain(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else dict(obj)


def _metrics(result: Any) -> dict[str, Any]:
    data = _plain(result)
    row = {k: data.get(k) for k in _METRICS if data.get(k) is not None}
    if isinstance(row.get("val_accuracy"), float):
        row["val_accuracy"] = round(row["val_accuracy"], 4)
    if isinstance(row.get("latency_ms"), float):
        row["latency_ms"] = round(row["latency_ms"], 4)
    return row


def edit_text(edit: Any) -> tuple[str, str | None]:
    """(one-line description, kind) of an edit given as tools.Edit, a dict, a string or None."""
    if edit is None:
        return "a seed architecture (no edit)", None
    if hasattr(edit, "describe"):
        return edit.describe(), getattr(edit, "kind", None)
    if isinstance(edit, dict):
        kind = edit.get("kind")
        fixed = {k: v for k, v in (edit.get("fixed") or {}).items() if not isinstance(v, (dict, list))}
        text = " ".join([str(kind or "edit"), f"at {edit.get('path')}" if edit.get("path") else "",
                         " ".join(f"{k}={v}" for k, v in sorted(fixed.items()))])
        return " ".join(text.split()), kind
    text = str(edit)
    first = text.split(" ", 1)[0]
    return text, first if first in MOVE_KINDS else None


def _earlier(memories: list[Any] | None) -> list[str]:
    out = []
    for item in memories or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and item.get("text"):
            out.append(str(item["text"]))
        elif isinstance(item, dict) and item.get("edit") and item.get("val_accuracy") is not None:
            out.append(f"{item['edit']} gave val accuracy {float(item['val_accuracy']):.4f}")
    return out[:6]


class Analyst(Agent):
    name = "analyst"

    def analyze(self, record: Any, parent: Any = None, memories: list[Any] | None = None,
                step: str | None = None) -> Analysis:
        """Facts of one experiment against its parent; fallback: the numbers as a sentence.

        `record` is an ExperimentRecord (or its dict); `parent` is the parent's record, a dict
        with a `result`, or a Result; `memories` are earlier insights or experiment rows.
        """
        data = _plain(record)
        parent_data = _plain(parent)
        parent_result = parent_data.get("result", parent_data) if parent_data else {}
        if isinstance(parent, Result):
            parent_result = parent.model_dump(mode="json")
        description, kind = edit_text(data.get("edit"))
        experiment = {
            "id": data.get("id", "?"), "parent_id": parent_data.get("id"), "edit": description, "edit_kind": kind,
            "child": _metrics(data.get("result")), "parent": _metrics(parent_result) or None,
        }
        earlier = _earlier(memories)
        answer = self._ask("analyst", step or f"analyze-{experiment['id']}", AnalysisAnswer,
                           {"experiment": experiment, "insights": earlier})
        if answer.value is not None:
            return Analysis(**answer.value.model_dump(), source="model")
        text = prompts.render("analysis_fallback.j2", e=experiment, reason=fallback_reason(answer))
        verdict = "failed" if experiment["child"].get("status") != "ok" else "neutral"
        return Analysis(text=" ".join(text.split()), insights=[], verdict=verdict, source="fallback")

    def summarize(self, records: list[Any], insights: list[str] | None = None, step: str = "summary") -> list[str]:
        """At most eight distilled insights for the report and the memory (fallback: earlier insights)."""
        rows = [_plain(r) for r in records]
        val = {row.get("id"): (row.get("result") or {}).get("val_accuracy") for row in rows}
        table = []
        for row in rows:
            result = row.get("result") or {}
            description, kind = edit_text(row.get("edit"))
            parent_val = next((val.get(p) for p in row.get("parent_ids") or [] if val.get(p) is not None), None)
            child_val = result.get("val_accuracy")
            table.append({
                "id": row.get("id"), "edit_kind": kind, "edit": description, "status": result.get("status"),
                "val_accuracy": None if child_val is None else round(child_val, 4), "params": result.get("params"),
                "delta": None if child_val is None or parent_val is None else round(child_val - parent_val, 4),
            })
        earlier = list(dict.fromkeys(insights or []))[:8]
        answer = self._ask("analyst-summary", step, SummaryAnswer, {"records": table, "insights": earlier})
        if answer.value is not None:
            return list(dict.fromkeys(answer.value.insights))[:8]
        return earlier
