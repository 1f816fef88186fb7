"""The numbers a report shows, computed from a CampaignView.

Everything here ranks by *validation* metrics only, as the search does: the
test split is shown beside them but never used to order or select, so the
report cannot quietly pick a model on test data.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel

from archlab.report.loader import CampaignView, ExperimentView


class ProgressPoint(BaseModel):
    """The campaign's best validation accuracy after one more evaluation."""

    evaluation: int  # 1-based count of finished evaluations (failures included)
    minutes: float | None  # since the campaign started; None when times are unknown
    exp_id: str
    val_accuracy: float | None  # this evaluation's own score (None on failure)
    best: float | None  # best so far (None until something succeeded)


class LineageStep(BaseModel):
    """One edit on the way from a seed to the best model."""

    exp: ExperimentView
    delta: float | None  # validation accuracy change against the parent
    other_parents: list[str]  # crossover donors, shown but not followed


class StatusCounts(BaseModel):
    evaluated: int
    ok: int
    failed: int
    rejected: int  # failed a constraint before training (counted in `failed`)
    cached: int
    in_flight: int


def leaderboard(experiments: list[ExperimentView], limit: int | None = None) -> list[ExperimentView]:
    """Successful experiments, best validation accuracy first, one row per structure.

    Like with like: results at the campaign's highest fidelity rank before shorter
    trainings (a promoted candidate shows its full-budget score). Ties go to the
    smaller model, then the earlier experiment. Cached hits repeat a structure
    already trained, so only the first experiment of each hash is kept.
    """
    ok = [e for e in experiments if e.ok]
    top = max((e.result.fidelity for e in ok), default=1.0)
    ranked = sorted(
        ok,
        key=lambda e: (e.result.fidelity < top - 1e-9, -(e.result.val_accuracy or 0.0), e.result.params or 0, e.id),
    )
    seen: set[str] = set()
    rows: list[ExperimentView] = []
    for exp in ranked:
        if exp.arch_hash and exp.arch_hash in seen:
            continue
        seen.add(exp.arch_hash)
        rows.append(exp)
    return rows[:limit] if limit is not None else rows


def best(experiments: list[ExperimentView]) -> ExperimentView | None:
    rows = leaderboard(experiments, limit=1)
    return rows[0] if rows else None


def start_time(view: CampaignView) -> datetime | None:
    """When the campaign started: state.json's `started_at`, else the first record."""
    started = view.state.get("started_at")
    if started is not None:
        try:
            return ExperimentView.model_validate(
                {"id": "_", "result": {"status": "ok"}, "created_at": started}
            ).created_at
        except ValueError:
            pass
    times = [t for e in view.experiments for t in (e.created_at, e.finished_at) if t is not None]
    return min(times) if times else None


def finish_order(experiments: list[ExperimentView]) -> list[ExperimentView]:
    """Experiments in the order they finished (id order where a time is missing)."""
    if all(e.finished_at is not None for e in experiments):
        return sorted(experiments, key=lambda e: (e.finished_at, e.id))
    return sorted(experiments, key=lambda e: e.id)


def progress(view: CampaignView) -> list[ProgressPoint]:
    """Best-so-far validation accuracy after each finished evaluation."""
    started = start_time(view)
    points: list[ProgressPoint] = []
    best_so_far: float | None = None
    for number, exp in enumerate(finish_order(view.experiments), start=1):
        score = exp.result.val_accuracy if exp.ok else None
        if score is not None and (best_so_far is None or score > best_so_far):
            best_so_far = score
        minutes = None
        if started is not None and exp.finished_at is not None:
            minutes = max(0.0, (exp.finished_at - started).total_seconds() / 60.0)
        points.append(ProgressPoint(evaluation=number, minutes=minutes, exp_id=exp.id,
                                    val_accuracy=score, best=best_so_far))
    return points


def pareto_front(experiments: list[ExperimentView]) -> list[ExperimentView]:
    """Non-dominated experiments for (max validation accuracy, min params), by params."""
    candidates = sorted(
        (e for e in leaderboard(experiments) if e.result.params is not None),
        key=lambda e: (e.result.params, -(e.result.val_accuracy or 0.0), e.id),
    )
    front: list[ExperimentView] = []
    for exp in candidates:
        if not front or (exp.result.val_accuracy or 0.0) > (front[-1].result.val_accuracy or 0.0):
            front.append(exp)
    return front


def lineage(view: CampaignView, exp_id: str) -> list[LineageStep]:
    """The chain of first parents from a seed to `exp_id`, seed first."""
    by_id = view.by_id
    chain: list[ExperimentView] = []
    seen: set[str] = set()  # guards against a corrupt record that closes a cycle
    current: ExperimentView | None = by_id.get(exp_id)
    while current is not None and current.id not in seen:
        seen.add(current.id)
        chain.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    chain.reverse()
    steps: list[LineageStep] = []
    for index, exp in enumerate(chain):
        parent = chain[index - 1] if index else None
        delta = None
        if parent is not None and exp.ok and parent.ok:
            delta = (exp.result.val_accuracy or 0.0) - (parent.result.val_accuracy or 0.0)
        steps.append(LineageStep(exp=exp, delta=delta, other_parents=exp.parent_ids[1:]))
    return steps


def failures_by_kind(experiments: list[ExperimentView]) -> list[tuple[str, int]]:
    """How many evaluations failed, per failure kind, most frequent first."""
    counts = Counter(e.result.failure or "unknown" for e in experiments if not e.result.ok)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def status_counts(view: CampaignView) -> StatusCounts:
    exps = view.experiments
    return StatusCounts(
        evaluated=len(exps),
        ok=sum(1 for e in exps if e.result.ok),
        failed=sum(1 for e in exps if not e.result.ok),
        rejected=sum(1 for e in exps if e.result.failure == "constraint"),
        cached=sum(1 for e in exps if e.result.cached),
        in_flight=len(view.in_flight),
    )


def first_line(text: str) -> str:
    """The one-line reason of a failure (Result.error puts it first)."""
    return text.strip().splitlines()[0] if text.strip() else ""
