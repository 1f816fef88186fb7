"""The campaign at a glance, read from its folder: what `archlab status --json` prints.

The object is stable (tests pin its keys): evaluated, failed, cached, rejected,
best {id, val_accuracy, test_accuracy, params, fidelity, val_mean, val_std, n_seeds,
confirmed, test_mean, weights_id, rule}, confirmation, strategy, seed, llm {calls,
retries, reasks, fallbacks, tokens, cost_usd, structured, faults {kind: count}}, modules
{asked, written, mined, rejected, ops, used, reasons}, plus where things are. `status` is
the state's, except `interrupted` for a session that died without saying so (state.py).

The best is `records.pick_best` over the folder's records, the one rule every surface
uses (live view, status, report, export, the git tag).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from archlab.campaign.modules import ModuleCounts
from archlab.campaign.modules import counts as module_counts
from archlab.campaign.state import shown_status
from archlab.campaign.workspace import Workspace
from archlab.records import BEST_RULE, Pick, Result, Scored, UsageTotals, confirmation_source, pick_best


class BestCandidate(BaseModel):
    """The best experiment by `records.BEST_RULE` (validation only, never test accuracy).

    `val_accuracy`/`test_accuracy` are its search run's; `val_mean`, `val_std` and
    `n_seeds` summarise its confirmation runs once confirmed (before that: the search
    run's accuracy, no deviation, one seed). `weights_id`: the run whose trained weights
    `archlab export` writes."""

    id: str
    val_accuracy: float | None
    test_accuracy: float | None
    params: int | None
    flops: int | None = None
    fidelity: float = 1.0
    confirmed: bool = False
    val_mean: float | None = None
    val_std: float | None = None
    n_seeds: int = 1
    test_mean: float | None = None
    weights_id: str | None = None
    rule: str = BEST_RULE

    @classmethod
    def of(cls, pick: Pick) -> BestCandidate:
        return cls(id=pick.id, val_accuracy=pick.val_accuracy, test_accuracy=pick.test_accuracy, params=pick.params,
                   flops=pick.flops, fidelity=pick.fidelity, confirmed=pick.confirmed, val_mean=pick.val_mean,
                   val_std=pick.val_std, n_seeds=pick.n_seeds, test_mean=pick.test_mean, weights_id=pick.weights_id)


class ReplayCheck(BaseModel):
    """How a replay compares with its original, candidate by candidate."""

    original: str
    compared: int
    matched: int
    first_mismatch: str | None = None

    @property
    def identical(self) -> bool:
        return self.compared > 0 and self.matched == self.compared


class CampaignSummary(BaseModel):
    dir: str
    status: str
    stop_reason: str = ""
    goal: str
    task: str
    strategy: str
    seed: int
    model: str
    experiments: int
    evaluated: int
    failed: int
    cached: int
    rejected: int
    best: BestCandidate | None = None
    llm: UsageTotals = Field(default_factory=UsageTotals)
    elapsed_s: float = 0.0
    report_md: str | None = None
    report_html: str | None = None
    replay: ReplayCheck | None = None
    modules: ModuleCounts = Field(default_factory=ModuleCounts)  # coder-written modules: asked, mined, ...
    error: str = ""
    confirmation: str = ""  # one line: what the confirmation stage did (or why there was none)


def load_records(ws: Workspace) -> list[dict[str, Any]]:
    """Finished experiment records in id order (unreadable ones are left out)."""
    records = []
    for exp in ws.finished_ids():
        try:
            records.append(ws.read_record_json(exp))
        except (OSError, ValueError):
            continue
    return records


def scored(record: dict[str, Any]) -> Scored:
    """A record as the best-picking rule reads it."""
    return Scored(id=record["id"], arch_hash=record.get("arch_hash") or "", result=Result.model_validate(record["result"]),
                  confirms=confirmation_source(record.get("edit")))


def campaign_best(records: list[dict[str, Any]]) -> Pick | None:
    """The campaign's best by the one rule (`records.pick_best`)."""
    return pick_best([scored(r) for r in records])


def best_of(records: list[dict[str, Any]]) -> BestCandidate | None:
    """The best candidate of a campaign's records (`records.BEST_RULE`): confirmed candidates by their
    mean validation accuracy, else the highest-fidelity results by validation accuracy; ties go to
    the fewer parameters, then the earlier experiment."""
    pick = campaign_best(records)
    return None if pick is None else BestCandidate.of(pick)


def best_message(pick: Pick) -> str:
    """One line naming the best (the git tag's message, the CLI's summary)."""
    if pick.confirmed:
        spread = f" ± {100 * pick.val_std:.2f}" if pick.val_std is not None else ""
        return (f"best: {pick.id} val mean {100 * (pick.val_mean or 0):.2f}%{spread} over {pick.n_seeds} "
                f"confirmation seed{'s' if pick.n_seeds != 1 else ''}")
    return f"best: {pick.id} val {100 * (pick.val_accuracy or 0):.2f}% (one run, fidelity {pick.fidelity:g})"


def tag_best(ws: Workspace, records: list[dict[str, Any]] | None = None) -> None:
    """Move the `best` tag to the campaign's best by the one rule (after the final commit, every mode);
    `records`: the campaign's records when the caller has just read them (else read here)."""
    pick = campaign_best(load_records(ws) if records is None else records)
    if pick is not None:
        ws.tag_best(pick.id, best_message(pick))


def llm_totals(usage: dict[str, Any]) -> UsageTotals:
    """Sum `llm/usage.json` with the llm room's own rule (an empty or unreadable ledger: zeros)."""
    from archlab.llm import UsageReport

    try:
        report = UsageReport.model_validate(usage if usage else {"model": ""})
    except ValueError:
        report = UsageReport(model="")
    return UsageTotals.model_validate(report.totals())


def summarize(root: Path, replay: ReplayCheck | None = None) -> CampaignSummary:
    """Read a campaign folder (raises UsageError if it is not one)."""
    ws = Workspace.open(Path(root))
    spec, state = ws.load_spec(), ws.load_state()
    records = load_records(ws)
    results = [Result.model_validate(r["result"]) for r in records]
    md, html = ws.root / "report.md", ws.root / "report.html"
    status, stop_reason = shown_status(state)  # "interrupted" when a killed session left "running"
    return CampaignSummary(
        dir=str(ws.root), status=status, stop_reason=stop_reason, goal=spec.goal,
        task=spec.task, strategy=spec.strategy, seed=spec.seed, model=spec.model,
        experiments=len(records),
        evaluated=sum(1 for r in results if not r.cached and r.failure not in ("constraint", "invalid")),
        failed=sum(1 for r in results if r.status == "failed" and not r.cached
                   and r.failure not in ("constraint", "invalid")),
        cached=sum(1 for r in results if r.cached),
        rejected=sum(1 for r in results if not r.cached and r.failure in ("constraint", "invalid")),
        best=best_of(records), llm=llm_totals(ws.load_usage()), elapsed_s=round(state.elapsed_s, 2),
        report_md=str(md) if md.is_file() else None, report_html=str(html) if html.is_file() else None,
        replay=replay, modules=module_counts(ws.root, records), error=state.error, confirmation=state.confirm_note)


def status_json(summary: CampaignSummary) -> str:
    """The stable machine-readable form (`archlab status --json`)."""
    return json.dumps(summary.model_dump(mode="json"), indent=2, sort_keys=True)
