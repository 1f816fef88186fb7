"""Fidelity promotion: asynchronous successive halving inside the campaign loop.

A candidate trained at a low fidelity (the evaluator's choice) is re-trained at
full fidelity when its validation accuracy ranks in the top of its *rung* (all
results at that fidelity the proposal may see): the top `len(rung) // eta`, as
in ASHA (Li et al., 2020), and never more than `top_k` of them. Each candidate
is promoted at most once, straight to the highest fidelity.

A promotion is its own experiment: a new id whose parent is the low-fidelity
one and whose edit is `promote`. One folder, one Result, one commit per
training keeps the folder, the git history, the report and the memory's
(structure, fidelity) dedup exactly as for any other experiment; a second
Result inside one record would break all four.

The rule reads only folded-in, visible results (the fixed lag of loop.py), so
it is as deterministic as the rest of the pipeline.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from archlab.records import Result


class Promotion(BaseModel):
    """The `edit` of a promotion experiment: the same tree, trained at a higher fidelity."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["promote"] = "promote"
    source_id: str  # the low-fidelity experiment
    from_fidelity: float
    fidelity: float
    description: str = ""  # read by knowledge's edit one-liner

    def describe(self) -> str:
        return self.description or f"promote {self.source_id} from fidelity {self.from_fidelity:g} to {self.fidelity:g}"

    @classmethod
    def of(cls, source_id: str, from_fidelity: float, fidelity: float) -> Promotion:
        made = cls(source_id=source_id, from_fidelity=from_fidelity, fidelity=fidelity)
        return made.model_copy(update={"description": made.describe()})


def is_promotion(edit: Any) -> bool:
    """Whether a recorded or live edit is a promotion (dicts come from record.json)."""
    if isinstance(edit, Promotion):
        return True
    return isinstance(edit, dict) and edit.get("kind") == "promote"


def promotion_quota(rung_size: int, top_k: int, eta: int) -> int:
    """How many of a rung's best may be promoted: ASHA's top 1/eta, at most top_k."""
    return max(0, min(top_k, rung_size // max(1, eta)))


def pick_promotion(rows: list[tuple[str, Result]], promoted: set[str], top_k: int, eta: int,
                   full: float) -> tuple[str, Result] | None:
    """The first (lowest rung, best-ranked) visible low-fidelity result that earned promotion.

    `rows` are (experiment id, result) of visible non-promotion experiments in id
    order; ties in accuracy go to the earlier experiment.
    """
    if top_k <= 0:
        return None
    rungs: dict[float, list[tuple[int, str, Result]]] = {}
    for order, (exp, result) in enumerate(rows):
        if result.ok and result.val_accuracy is not None and 0 < result.fidelity < full:
            rungs.setdefault(result.fidelity, []).append((order, exp, result))
    for fidelity in sorted(rungs):
        members = sorted(rungs[fidelity], key=lambda row: (-(row[2].val_accuracy or 0.0), row[0]))
        for _, exp, result in members[: promotion_quota(len(members), top_k, eta)]:
            if exp not in promoted:
                return exp, result
    return None

