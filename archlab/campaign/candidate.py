"""One candidate on its way through the loop, and how it is named in commits and leaderboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from archlab.campaign.promotion import Promotion
from archlab.records import Result
from archlab.tools import Arch, Edit, EditError

if TYPE_CHECKING:
    from archlab.knowledge import Decision


@dataclass
class PreparedCandidate:
    """A proposal turned into a concrete, validated tree (or a reason it is not one)."""

    index: int
    exp_id: str
    generation: int
    parent_ids: list[str]
    parent_arch: Arch
    edit: Edit | Promotion | None  # a filled Edit, a promotion, or None for an unchanged seed
    decision: Decision | None  # why this parent and move, who chose the edit (None: a record without one)
    arch: Arch
    arch_hash: str
    fidelity: float = 1.0
    sandbox_constraints: bool = False  # uses mined ops: only the worker may build it to size it
    result: Result | None = None  # set when it must not be trained (constraint, invalid)
    cached_from: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def was_trained(result: Result) -> bool:
    """Whether a result cost an evaluation (the eval budget counts these): everything sent to
    the executor. A rejection before submission has fidelity 0; a worker-side constraint check
    (trees with mined ops) was submitted, so it counts."""
    return not result.cached and (result.failure not in ("constraint", "invalid") or result.fidelity > 0)


def describe_edit(edit: Edit | Promotion | dict[str, Any] | None) -> str:
    """One line for an edit, live or as recorded in record.json (a dict)."""
    if edit is None:
        return ""
    if not isinstance(edit, dict):
        return edit.describe()
    if isinstance(edit.get("description"), str):  # a campaign step such as a promotion
        return str(edit["description"])
    try:
        return Edit.model_validate(edit).describe()
    except (ValueError, EditError):
        return str(edit.get("kind", "edit"))


def commit_message(candidate: PreparedCandidate, result: Result, edit: str) -> str:
    parents = ", ".join(candidate.parent_ids) or "seed"
    if result.cached:
        outcome = f"cached from {candidate.cached_from or 'memory'}"
    elif result.ok:
        outcome = f"val {100 * (result.val_accuracy or 0):.2f}%, {result.params or 0:,} params"
    else:
        outcome = f"failed ({result.failure})"
    where = "" if edit.startswith("seed ") else f" on {parents}"
    return f"{candidate.exp_id}: {edit or 'unchanged'}{where} -> {outcome}"
