"""What the campaign has folded in, and what a decision may see of it and of the memory.

The determinism rule (loop.py) says proposal `i` sees only experiments numbered
`<= visible`; every view an agent gets (evidence rows, similar past experiments,
the best ones for the planner) is cut here, in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archlab.campaign.candidate import PreparedCandidate, describe_edit
from archlab.campaign.promotion import is_promotion
from archlab.campaign.workspace import exp_number
from archlab.records import Result
from archlab.tools import Arch

if TYPE_CHECKING:
    from archlab.agents import Evidence
    from archlab.campaign.collaborators import ExperimentMemory

MEMORY_KEYS = ("id", "campaign", "edit", "arch", "val_accuracy", "parent_val_accuracy",
               "params", "status", "failure")  # what the coder may see of a memory


class History:
    """Folded-in candidates with their results, in order, and the views cut from them."""

    def __init__(self, memory: ExperimentMemory, campaign: str, lag: int) -> None:
        self.memory, self.campaign, self.lag = memory, campaign, lag
        self.folded: list[tuple[PreparedCandidate, Result]] = []
        self.by_id: dict[str, tuple[PreparedCandidate, Result]] = {}
        # exp id -> (candidate, result, its evidence), once the evidence is final
        self._kept: dict[str, tuple[PreparedCandidate, Result, Evidence]] = {}

    def add(self, candidate: PreparedCandidate, result: Result) -> None:
        self.folded.append((candidate, result))
        self.by_id[candidate.exp_id] = (candidate, result)

    def visible(self, visible: int) -> list[tuple[PreparedCandidate, Result]]:
        return [item for item in self.folded if exp_number(item[0].exp_id) <= visible]

    def submitted_before(self, visible: int) -> int:
        return sum(1 for c, r in self.visible(visible) if not r.cached and c.result is None)

    def parent_result(self, candidate: PreparedCandidate, visible: int | None = None) -> Result | None:
        """The first parent's result, if folded in (and visible to a decision at `visible`)."""
        for pid in candidate.parent_ids:
            if pid in self.by_id and (visible is None or _number(pid) <= visible):
                return self.by_id[pid][1]
        return None

    def parent_record(self, candidate: PreparedCandidate) -> dict[str, Any] | None:
        """The first folded-in parent as the analyst reads it."""
        for pid in candidate.parent_ids:
            if pid in self.by_id:
                c, r = self.by_id[pid]
                return {"id": pid, "edit": describe_edit(c.edit), "result": r.model_dump(mode="json")}
        return None

    def evidence(self, visible: int) -> list[Evidence]:
        """Visible experiments as the planner's evidence (edit kind, parent val, child val), oldest first."""
        return [self._evidence_of(candidate, result) for candidate, result in self.visible(visible)
                if not is_promotion(candidate.edit)]  # a re-training, not an edit: no evidence about edits

    def _evidence_of(self, candidate: PreparedCandidate, result: Result) -> Evidence:
        """One experiment's evidence. Kept once every parent is folded in (then nothing in it can
        change; the planner reads every experiment again at each generation, and building a
        model per row was most of the cost of a direction)."""
        from archlab.agents import Evidence

        kept = self._kept.get(candidate.exp_id)
        if kept is not None and kept[0] is candidate and kept[1] is result:
            return kept[2]
        parent = self.parent_result(candidate)
        evidence = Evidence.from_memory({
            "id": candidate.exp_id, "kind": _kind(candidate),
            "edit": describe_edit(candidate.edit),
            "parent_val_accuracy": None if parent is None else parent.val_accuracy,
            "child_val_accuracy": result.val_accuracy, "params": result.params,
            "status": result.status,
        })
        if all(pid in self.by_id for pid in candidate.parent_ids):
            self._kept[candidate.exp_id] = (candidate, result, evidence)
        return evidence

    def memories(self, arch: Arch, text: str, visible: int) -> list[dict[str, Any]]:
        """Past experiments similar to `arch`, minus any this decision may not see yet."""
        found = self.memory.similar(arch, text or None, 8 + self.lag)
        keep = []
        for item in found:
            same = item.get("campaign") in (None, self.campaign)
            if same and _number(item.get("id")) > visible:
                continue
            row = {k: item[k] for k in MEMORY_KEYS if k in item and not (k == "campaign" and same)}
            if same and item.get("id") in self.by_id:  # add what the memory row lacks
                candidate, _ = self.by_id[item["id"]]
                parent = self.parent_result(candidate)
                row["kind"] = None if is_promotion(candidate.edit) else _kind(candidate)
                row["parent_val_accuracy"] = None if parent is None else parent.val_accuracy
            keep.append(row)
        return keep[:8]

    def best_memories(self, visible: int) -> list[dict[str, Any]]:
        """The best experiments in memory that a decision at `visible` may see (for the planner)."""
        rows = self.memory.best(8 + self.lag)
        seen = [r for r in rows if r.get("campaign") != self.campaign or _number(r.get("id")) <= visible][:5]
        return [self._without_own_name(r) for r in seen]

    def _without_own_name(self, row: dict[str, Any]) -> dict[str, Any]:
        """Drop this campaign's own name from a memory row: a prompt must not depend on the
        folder's name, or a replay into another folder would ask different questions."""
        if row.get("campaign") == self.campaign:
            return {k: v for k, v in row.items() if k != "campaign"}
        return row


def _kind(candidate: PreparedCandidate) -> str | None:
    edit = candidate.edit
    return None if edit is None else str(edit.kind)


def _number(exp: Any) -> int:
    try:
        return exp_number(str(exp))
    except ValueError:
        return 0
