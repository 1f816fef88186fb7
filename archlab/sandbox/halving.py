"""Successive halving: many candidates at a small fidelity, the best by validation promoted to full budget.

Each rung trains the survivors at `eta` times the previous fidelity and keeps
the best `1/eta` of them by validation accuracy (never test); the last rung is
full fidelity. Ties break by the order the candidates were given, so the
outcome is a deterministic function of the Results.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from archlab.records import Result
from archlab.sandbox.executor import Executor
from archlab.sandbox.requests import EvalRequest, Limits


class Rung(BaseModel):
    """One fidelity level: who was trained there and how they did."""

    fidelity: float
    results: dict[str, Result] = Field(default_factory=dict)  # candidate id -> Result, in submission order
    promoted: list[str] = Field(default_factory=list)


class HalvingOutcome(BaseModel):
    """All rungs, and the winner at full fidelity (None if every finalist failed)."""

    rungs: list[Rung]
    best_id: str | None = None

    @property
    def best(self) -> Result | None:
        return self.rungs[-1].results.get(self.best_id) if self.best_id else None


def rung_fidelities(min_fidelity: float, eta: int) -> list[float]:
    """``[min_fidelity, min_fidelity * eta, ..., 1.0]`` (the last rung is always full fidelity)."""
    if not 0 < min_fidelity <= 1:
        raise ValueError(f"min_fidelity must be in (0, 1], got {min_fidelity}")
    if eta < 2:
        raise ValueError(f"eta must be at least 2, got {eta}")
    levels = [min_fidelity * eta**k for k in range(math.ceil(math.log(1 / min_fidelity, eta) - 1e-9))]
    return [f for f in levels if f < 1.0] + [1.0]


def successive_halving(executor: Executor, candidates: dict[str, dict], task: str, *, min_fidelity: float = 1 / 9,
                       eta: int = 3, seed: int = 0, recipe_overrides: dict | None = None,
                       limits: Limits | None = None) -> HalvingOutcome:
    """Run successive halving over `candidates` (id -> tree JSON) through `executor`."""
    if not candidates:
        raise ValueError("successive halving needs at least one candidate")
    survivors = list(candidates)
    rungs: list[Rung] = []
    for level, fidelity in enumerate(rung_fidelities(min_fidelity, eta)):
        futures = {cid: executor.submit(EvalRequest(
            exp_id=f"{cid}-rung{level}", arch=candidates[cid], task=task, fidelity=fidelity, seed=seed,
            recipe_overrides=recipe_overrides or {}, limits=limits or Limits())) for cid in survivors}
        rung = Rung(fidelity=fidelity, results={cid: f.result() for cid, f in futures.items()})
        ranked = rank(rung.results)
        keep = 1 if fidelity == 1.0 else max(1, math.ceil(len(survivors) / eta))
        rung.promoted = ranked[:keep]
        rungs.append(rung)
        survivors = rung.promoted
        if not survivors:  # everyone failed: nothing to promote
            break
    best = rank(rungs[-1].results)[:1]
    return HalvingOutcome(rungs=rungs, best_id=best[0] if best else None)


def rank(results: dict[str, Result]) -> list[str]:
    """Successful candidates, best validation accuracy first; failures are never promoted."""
    order = {cid: i for i, cid in enumerate(results)}
    ok = [cid for cid, r in results.items() if r.ok and r.val_accuracy is not None]
    return sorted(ok, key=lambda cid: (-results[cid].val_accuracy, order[cid]))
