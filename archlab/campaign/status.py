"""The campaign at a glance, read from its folder: what `archlab status --json` prints.

The object is stable (tests pin its keys): evaluated, failed, cached, rejected,
best {id, val_accuracy, test_accuracy, params, fidelity}, strategy, seed, llm {calls,
retries, reasks, fallbacks, tokens, cost_usd, structured, faults {kind: count}}, modules
{asked, written, mined, rejected, ops, used, reasons}, plus where things are. `status` is
the state's, except `interrupted` for a session that died without saying so (state.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from archlab.campaign.modules import ModuleCounts
from archlab.campaign.modules import counts as module_counts
from archlab.campaign.promotion import rank_key
from archlab.campaign.state import shown_status
from archlab.campaign.workspace import Workspace
from archlab.records import Result


class BestCandidate(BaseModel):
    """The best experiment by validation accuracy (never chosen by test accuracy)."""

    id: str
    val_accuracy: float | None
    test_accuracy: float | None
    params: int | None
    flops: int | None = None
    fidelity: float = 1.0


class LLMTotals(BaseModel):
    """The `llm` object: `UsageReport.totals()` of the llm room (faults: every kind, 0 when none)."""

    calls: int = 0
    retries: int = 0
    reasks: int = 0
    fallbacks: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    structured: int = 0  # requests that carried their answer's JSON schema
    faults: dict[str, int] = Field(default_factory=dict)  # connect, auth, timeout, rate_limit, server, ...


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
    llm: LLMTotals = Field(default_factory=LLMTotals)
    elapsed_s: float = 0.0
    report_md: str | None = None
    report_html: str | None = None
    replay: ReplayCheck | None = None
    modules: ModuleCounts = Field(default_factory=ModuleCounts)  # coder-written modules: asked, mined, ...
    error: str = ""


def load_records(ws: Workspace) -> list[dict[str, Any]]:
    """Finished experiment records in id order (unreadable ones are left out)."""
    records = []
    for exp in ws.finished_ids():
        try:
            records.append(ws.read_record_json(exp))
        except (OSError, ValueError):
            continue
    return records


def best_of(records: list[dict[str, Any]]) -> BestCandidate | None:
    """Best validation accuracy among the highest-fidelity results (like with like): a
    promoted full-budget result outranks any short-budget one; the earliest wins ties."""
    scored = [(record, result) for record in records
              for result in [Result.model_validate(record["result"])] if result.ok and result.val_accuracy is not None]
    if not scored:
        return None
    top = max(result.fidelity for _, result in scored)
    best: tuple[tuple[bool, float], dict[str, Any], Result] | None = None
    for record, result in scored:
        if best is None or rank_key(result, top) > best[0]:
            best = (rank_key(result, top), record, result)
    assert best is not None
    _, record, result = best
    return BestCandidate(id=record["id"], val_accuracy=result.val_accuracy,
                         test_accuracy=result.test_accuracy, params=result.params, flops=result.flops,
                         fidelity=result.fidelity)


def llm_totals(usage: dict[str, Any]) -> LLMTotals:
    """Sum `llm/usage.json` with the llm room's own rule (an empty or unreadable ledger: zeros)."""
    from archlab.llm import UsageReport

    try:
        report = UsageReport.model_validate(usage if usage else {"model": ""})
    except ValueError:
        report = UsageReport(model="")
    return LLMTotals.model_validate(report.totals())


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
        replay=replay, modules=module_counts(ws.root, records), error=state.error)


def status_json(summary: CampaignSummary) -> str:
    """The stable machine-readable form (`archlab status --json`)."""
    return json.dumps(summary.model_dump(mode="json"), indent=2, sort_keys=True)
