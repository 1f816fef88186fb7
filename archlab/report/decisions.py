"""Why an experiment was made, as text lines: for `archlab show` (the report reads
`ExperimentView.decision` itself)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from archlab.knowledge import Decision


def decision_lines(record: dict[str, Any]) -> list[str]:
    """The record's decision (the search's reason, who chose the edit and why) as lines; one line
    saying so when the record has none or an unreadable one."""
    raw = record.get("decision")
    if not raw:
        return ["(none recorded: a record written before decisions were)"]
    try:
        return Decision.model_validate(raw).lines()
    except ValidationError:
        return ["(unreadable decision in this record)"]
