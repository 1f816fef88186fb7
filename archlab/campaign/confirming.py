"""`archlab confirm DIR`: the confirmation stage for a campaign whose search has finished.

A campaign whose spec asks for confirmation runs the stage itself before it
ends (lifecycle.py calls confirmation.py). This entry point runs it afterwards:
for a campaign planned without one, with more seeds or candidates than it had,
or to finish runs a time budget cut off. Runs already on disk are kept (the
plan is a pure function of the search's records), so it is idempotent.
"""

from __future__ import annotations

from pathlib import Path

from archlab.campaign.checks import load_checked_task
from archlab.campaign.collaborators import Wiring, wire
from archlab.campaign.confirmation import ConfirmationStage, begin, stage_spec
from archlab.campaign.errors import UsageError
from archlab.campaign.lifecycle import recover_prefix, stored_settings
from archlab.campaign.report_refresh import refresh_report
from archlab.campaign.settings import CampaignSettings, ProgressEvent
from archlab.campaign.status import CampaignSummary, load_records, summarize, tag_best
from archlab.campaign.workspace import Workspace
from archlab.records import ConfirmSpec, Pick


def confirm_campaign(root: Path | str, settings: CampaignSettings | None = None, *, top_k: int | None = None,
                     seeds: int | None = None, wiring: Wiring | None = None) -> CampaignSummary:
    """Confirm the top candidates of a finished campaign (`top_k`, `seeds` override the stored ConfirmSpec;
    the extra trainings then come on top of the budget)."""
    ws = Workspace.open(Path(root))
    spec, state = ws.load_spec(), ws.load_state()
    if state.phase == "search" and state.status != "done":
        raise UsageError(f"{ws.root} has not finished its search (status {state.status}): run "
                         f"`archlab resume {ws.root}` first (it confirms before it ends when its spec asks for it)")
    confirm = stage_spec(spec, state) or ConfirmSpec(paid_by="extra")
    asked = {k: v for k, v in {"top_k": top_k, "seeds": seeds}.items() if v is not None}
    if asked:
        try:
            confirm = ConfirmSpec.model_validate({**confirm.model_dump(), **asked, "paid_by": "extra"})
        except ValueError as exc:
            first = str(exc).splitlines()
            raise UsageError(f"bad confirmation setting: {first[1] if len(first) > 1 else first[0]}") from None
    settings = stored_settings(state, settings)
    task = load_checked_task(spec.task, settings)
    recover_prefix(ws, settings)
    previous = state.status
    begin(state, confirm, state.stop_reason)
    state.sessions += 1
    state.status, state.error = "running", ""
    ws.save_state(state)
    c = wire(spec, settings, ws, task, llm_mode="record", resumed=True, wiring=wiring)

    def progress(message: str, best: Pick | None) -> None:
        if settings.progress is not None:
            done = len(ws.finished_ids())
            settings.progress(ProgressEvent(message=message, done=done, evaluated=done, in_flight=0, failed=0,
                                            cached=0, rejected=0, best_id=best.id if best else None,
                                            best_val=best.val_mean if best else None))

    try:
        state.confirm_note = ConfirmationStage(c, state, confirm, progress).run(None)
    except BaseException:
        c.close()
        state.status = "stopped"
        state.stop_reason = "interrupted during confirmation (finish with `archlab confirm DIR`)"
        ws.save_state(state)
        raise
    c.close()
    state.status = "done" if previous in ("done", "running", "stopped") else previous
    state.stop_reason = state.search_stop_reason or state.stop_reason
    state.next_exp = len(load_records(ws)) + 1
    ws.save_state(state)
    if settings.write_report:
        refresh_report(ws.root)
    finals = ["state.json", "report.md", "report.html", "report_files"]
    if settings.lightweight:
        finals.append("experiments")
    ws.commit(finals, f"Confirmation: {state.confirm_note}")
    tag_best(ws)
    ws.close()
    return summarize(ws.root)
