"""The numbers a report shows, computed from a CampaignView.

Everything here ranks by *validation* metrics only, as the search does: the
test split is shown beside them but never used to order or select, so the
report cannot quietly pick a model on test data.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel

from archlab.records import Pick, Scored, confirmation_source, rank_candidates
from archlab.report.loader import CampaignView, ExperimentView


class ProgressPoint(BaseModel):
    """The search's best validation accuracy after one more evaluation (confirmation runs, scored on
    another split, are not part of it)."""

    evaluation: int  # 1-based count of finished evaluations (failures included)
    minutes: float | None  # since the campaign started; None when times are unknown
    exp_id: str
    val_accuracy: float | None  # this evaluation's own score (None on failure)
    best: float | None  # best so far (None until something succeeded)


class LineageStep(BaseModel):
    """One edit on the way from a seed to the best model."""

    exp: ExperimentView
    delta: float | None  # validation accuracy change against the parent, only at the same budget (like with like)
    other_parents: list[str]  # crossover donors, shown but not followed
    budget: str = ""  # what this step was trained with: fidelity and steps
    why_no_delta: str = ""  # e.g. "parent at 50%": the two scores are not comparable


class BoardRow(BaseModel):
    """One leaderboard row: the candidate as the one rule ranks it, and its experiment."""

    pick: Pick
    exp: ExperimentView


class StatusCounts(BaseModel):
    evaluated: int
    ok: int
    failed: int
    rejected: int  # failed a constraint before training (counted in `failed`)
    cached: int
    in_flight: int


def scored(experiments: list[ExperimentView]) -> list[Scored]:
    """The experiments as the best-picking rule reads them (`records.rank_candidates`)."""
    return [Scored(id=e.id, arch_hash=e.arch_hash, result=e.result, confirms=confirmation_source(e.edit))
            for e in experiments]


def ranked(experiments: list[ExperimentView], limit: int | None = None) -> list[BoardRow]:
    """The candidates, best first, by the campaign's one rule (`records.BEST_RULE`), one row per structure.

    Confirmed candidates come first, by the mean validation accuracy of their
    confirmation runs; then the rest, results at the campaign's highest fidelity
    first (a promoted candidate shows its full-budget score), by validation
    accuracy. Ties go to the smaller model, then the earlier experiment. Cached
    hits repeat a structure already trained, so only its first experiment shows.
    Confirmation runs are not rows: they are folded into their candidate.
    """
    by_id = {e.id: e for e in experiments}
    rows = [BoardRow(pick=pick, exp=by_id[pick.id]) for pick in rank_candidates(scored(experiments))]
    return rows[:limit] if limit is not None else rows


def leaderboard(experiments: list[ExperimentView], limit: int | None = None) -> list[ExperimentView]:
    """The experiments of `ranked`, in its order."""
    return [row.exp for row in ranked(experiments, limit)]


def best(experiments: list[ExperimentView]) -> ExperimentView | None:
    rows = leaderboard(experiments, limit=1)
    return rows[0] if rows else None


def best_pick(experiments: list[ExperimentView]) -> Pick | None:
    rows = ranked(experiments, limit=1)
    return rows[0].pick if rows else None


def confirmation_runs(experiments: list[ExperimentView], candidate: str) -> list[ExperimentView]:
    """The confirmation runs of one candidate, in id order."""
    return [e for e in experiments if confirmation_source(e.edit) == candidate]


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
    search = [e for e in view.experiments if confirmation_source(e.edit) is None]  # the search's own progress
    for number, exp in enumerate(finish_order(search), start=1):
        score = exp.result.val_accuracy if exp.ok else None
        if score is not None and (best_so_far is None or score > best_so_far):
            best_so_far = score
        minutes = None
        if started is not None and exp.finished_at is not None:
            minutes = max(0.0, (exp.finished_at - started).total_seconds() / 60.0)
        points.append(ProgressPoint(evaluation=number, minutes=minutes, exp_id=exp.id,
                                    val_accuracy=score, best=best_so_far))
    return points


def pareto_front(experiments: list[ExperimentView], key: str = "params") -> list[ExperimentView]:
    """Non-dominated experiments for (max validation accuracy, min `key`: params or flops), by `key`."""
    candidates = sorted(
        (e for e in leaderboard(experiments) if getattr(e.result, key) is not None),
        key=lambda e: (getattr(e.result, key), -(e.result.val_accuracy or 0.0), e.id),
    )
    front: list[ExperimentView] = []
    for exp in candidates:
        if not front or (exp.result.val_accuracy or 0.0) > (front[-1].result.val_accuracy or 0.0):
            front.append(exp)
    return front


def budget_of(exp: ExperimentView) -> str:
    """What one training was given: its fidelity (share of the full step budget) and its steps."""
    result = exp.result
    if result.cached:
        return f"{result.fidelity:.0%} (cached)"
    return f"{result.fidelity:.0%}, {result.steps:,} steps" if result.steps else f"{result.fidelity:.0%}"


def lineage(view: CampaignView, exp_id: str) -> list[LineageStep]:
    """The chain of first parents from a seed to `exp_id`, seed first.

    Each step's change is against its parent at the same budget only: a parent
    trained at another fidelity (a short screening run, or the low-fidelity
    original of a promotion) has a score that is not comparable, so no change is
    shown and the step says why."""
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
        delta, why = None, ""
        if parent is not None and exp.ok and parent.ok:
            if abs(exp.result.fidelity - parent.result.fidelity) < 1e-9:
                delta = (exp.result.val_accuracy or 0.0) - (parent.result.val_accuracy or 0.0)
            else:
                why = f"parent at {parent.result.fidelity:.0%}"
        steps.append(LineageStep(exp=exp, delta=delta, other_parents=exp.parent_ids[1:], budget=budget_of(exp),
                                 why_no_delta=why))
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
