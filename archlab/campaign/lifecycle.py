"""Run, resume and replay campaigns: the three entry points the CLI calls.

A run validates everything first (checks.py, which also loads the task once),
then creates the folder, wires the collaborators (collaborators.py), then loops
(loop.py). A resume reopens the folder, drops what was in flight when the last
session died, and replays the recorded prefix through the deterministic search.
A replay re-runs a campaign into a new folder with the model's answers taken
from the original cassette (no model is called).

`wiring` (tests) replaces the search or the executor with fakes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from archlab.campaign.candidate import was_trained
from archlab.campaign.checks import check_spec
from archlab.campaign.collaborators import Collaborators, ExperimentMemory, Wiring, open_before_folder, wire
from archlab.campaign.confirmation import confirm_after_search, search_records, stage_spec, time_left_deadline
from archlab.campaign.errors import CampaignError, UsageError
from archlab.campaign.history import History
from archlab.campaign.library import ModuleLibrary
from archlab.campaign.loop import Orchestrator
from archlab.campaign.proposing import Proposer
from archlab.campaign.recording import Recorder
from archlab.campaign.report_refresh import refresh_report
from archlab.campaign.settings import CampaignSettings
from archlab.campaign.state import CampaignState, Owner
from archlab.campaign.status import CampaignSummary, ReplayCheck, load_records, summarize, tag_best
from archlab.campaign.stop_clock import Heartbeat
from archlab.campaign.workspace import Workspace, exp_number, write_json_atomic
from archlab.errors import one_line
from archlab.records import CampaignSpec, Result

if TYPE_CHECKING:
    from archlab.llm import LLMClient
    from archlab.sandbox import Task

_RUNTIME_ONLY = ("progress", "notice", "report_every_s", "grace_s")
# stored settings a resume may change when asked explicitly (where things run, how long to wait)
_RESUME_MAY_CHANGE = ("executor", "ray_address", "chroma_url", "cache_dir", "memory_wait_s", "allow_fallback")


def campaign_name(out_dir: Path) -> str:
    """Records and memory key on this name; a replay keeps its original's."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(out_dir).resolve().name).strip("-")
    return name or "campaign"


def run_campaign(spec: CampaignSpec, out_dir: Path | str, settings: CampaignSettings, *,
                 wiring: Wiring | None = None) -> CampaignSummary:
    """Validate, create the folder, search until a budget stops, write the report."""
    out_dir = Path(out_dir)
    task = check_spec(spec, settings, out_dir)
    state = CampaignState(campaign=campaign_name(out_dir), lag=settings.workers,
                          settings=settings.stored())
    llm, memory = open_before_folder(spec, settings, out_dir, owner=f"campaign {state.campaign}")
    try:
        ws = Workspace.create(out_dir, spec, state)
    except BaseException:
        if memory is not None:
            memory.close()
        raise
    return _execute(ws, spec, state, settings, task, llm_mode="record", prefix=[], wiring=wiring,
                    opened=(llm, memory))


def resume_campaign(root: Path | str, settings: CampaignSettings | None = None, *,
                    wiring: Wiring | None = None) -> CampaignSummary:
    """Continue a stopped or killed campaign; budgets carry over, in-flight work is redone."""
    ws = Workspace.open(Path(root))
    spec, state = ws.load_spec(), ws.load_state()
    settings = stored_settings(state, settings)
    running = state.live_owner()
    if running is not None:
        raise UsageError(f"{ws.root} is running now ({running.describe()}): wait for it to finish or stop it first")
    if state.status == "done":
        refresh_report(ws.root)
        return summarize(ws.root)
    prefix = recover_prefix(ws, settings)
    return _execute(ws, spec, state, settings, None, llm_mode="record", prefix=search_records(prefix), wiring=wiring)


def replay_campaign(root: Path | str, out_dir: Path | str | None = None,
                    settings: CampaignSettings | None = None, *, wiring: Wiring | None = None) -> CampaignSummary:
    """Re-run a campaign with the model's answers from its cassette; compare the candidates."""
    source = Workspace.open(Path(root))
    spec, original = source.load_spec(), source.load_state()
    if not source.cassette_path.is_file() and spec.strategy == "agentic":
        raise UsageError(f"{source.root} has no llm/cassette.jsonl to replay")
    records = load_records(source)
    if not records:
        raise UsageError(f"{source.root} has no finished experiment to replay")
    confirm = stage_spec(spec, original)  # confirmations are replayed too (after the same search)
    trained = sum(1 for r in search_records(records) if was_trained(Result.model_validate(r["result"])))
    reserved = confirm.trainings if confirm is not None and confirm.paid_by == "reserve" else 0
    replay_spec = spec.model_copy(update={"confirm": confirm, "budget": spec.budget.model_copy(update={
        "max_evals": trained + reserved, "minutes": None, "max_tokens": None, "max_cost_usd": None})})
    out = Path(out_dir) if out_dir is not None else source.root.with_name(source.root.name + "-replay")
    settings = stored_settings(original, settings)
    task = check_spec(replay_spec, settings, out)
    state = CampaignState(campaign=original.campaign or campaign_name(source.root), lag=original.lag,
                          settings=settings.stored(), replay_of=str(source.root))
    ws = Workspace.create(out, replay_spec, state)
    cassette = source.cassette_path
    if cassette.is_file():
        shutil.copyfile(cassette, ws.cassette_path)
    mode: Literal["record", "replay"] = "replay" if cassette.is_file() else "record"
    recorded = {r["id"]: (r.get("analysis", ""), list(r.get("insights", []))) for r in records}
    insights = _read_json(source.insights_path)
    summary = _execute(ws, replay_spec, state, settings, task, llm_mode=mode, prefix=[], wiring=wiring,
                       replay_len=len(search_records(records)), recorded=(recorded, insights))
    return summary.model_copy(update={"replay": compare_runs(records, load_records(ws), source.root)})


def compare_runs(original: list[dict[str, Any]], replayed: list[dict[str, Any]], where: Path) -> ReplayCheck:
    """Same candidates in the same order? (ids and structural hashes)."""
    compared = min(len(original), len(replayed))
    matched, first = 0, None
    for a, b in zip(original, replayed):
        if a["id"] == b["id"] and a["arch_hash"] == b["arch_hash"]:
            matched += 1
        elif first is None:
            first = f"{a['id']}: {a['arch_hash'][:12]} != {b['arch_hash'][:12]}"
    if first is None and len(original) != len(replayed):
        first = f"{len(original)} experiments in the original, {len(replayed)} in the replay"
    return ReplayCheck(original=str(where), compared=compared, matched=matched, first_mismatch=first)


# ---- the shared body -------------------------------------------------------------------------


def _execute(ws: Workspace, spec: CampaignSpec, state: CampaignState, settings: CampaignSettings,
             task: Task | None, llm_mode: Literal["record", "replay"], prefix: list[dict[str, Any]],
             wiring: Wiring | None, replay_len: int | None = None,
             recorded: tuple[dict[str, tuple[str, list[str]]], list[str] | None] | None = None,
             opened: tuple[LLMClient, ExperimentMemory | None] | None = None) -> CampaignSummary:
    state.sessions += 1
    state.status, state.stop_reason, state.error = "running", "", ""
    state.owner = Owner.here()
    ws.save_state(state)
    heartbeat = Heartbeat(state, ws.save_state)  # stopped before every final save below
    llm, memory = opened or (None, None)
    try:
        c = wire(spec, settings, ws, task, llm_mode=llm_mode, resumed=bool(prefix), wiring=wiring, llm=llm,
                 memory=memory, owner=f"campaign {state.campaign}")
    except BaseException as exc:  # the folder stays, marked failed (or stopped) with the reason
        heartbeat.stop()
        if not isinstance(exc, Exception):  # Ctrl-C while waiting for the memory, say
            state.status, state.stop_reason = "stopped", "interrupted before it started (resume with `archlab resume DIR`)"
            ws.save_state(state)
            raise
        _fail(ws, state, str(exc) if isinstance(exc, CampaignError)
              else f"could not start the campaign: {one_line(exc)}")
    if recorded is not None:
        c.recorded_analyses, c.recorded_insights = recorded
    history = History(c.memory, state.campaign, lag=state.lag)
    recorder = Recorder(c, history, state.campaign)
    orchestrator = Orchestrator(c, state, Proposer(c, history, _library(c)), recorder, prefix)
    heartbeat.follow(orchestrator.clock)
    try:
        try:
            reason = orchestrator.run() if state.phase == "search" else ""
            if replay_len is not None and orchestrator.finished < replay_len and not reason:
                reason = "replay ended early"
            # the confirmation stage (confirmation.py): the top candidates trained again with more seeds
            reason = confirm_after_search(c, state, reason, progress=orchestrator.note, deadline=time_left_deadline(
                spec.budget.minutes, orchestrator.clock.spent_s(), settings.grace_s))
        finally:
            heartbeat.stop()
    except KeyboardInterrupt:
        c.close()
        state.elapsed_s = orchestrator.clock.spent_s()
        state.status, state.stop_reason = "stopped", "interrupted (resume with `archlab resume DIR`)"
        ws.save_state(state)
        raise
    except CampaignError as exc:
        c.close()
        _fail(ws, state, str(exc))
    except Exception as exc:
        c.close()
        _fail(ws, state, f"{type(exc).__name__}: {one_line(exc)}")
    c.executor.close()
    _finish(c, state, recorder, orchestrator, reason)
    c.close()
    return summarize(ws.root)


def _finish(c: Collaborators, state: CampaignState, recorder: Recorder, orchestrator: Orchestrator,
            reason: str) -> None:
    """Distil insights, write the report and the last commit."""
    ws, settings = c.workspace, c.settings
    records = load_records(ws)
    results = [Result.model_validate(r["result"]) for r in records]
    if not settings.lightweight and c.spec.strategy == "agentic":
        try:
            insights = recorder.summarize(records)
        except Exception as exc:  # a spend stop here costs the insights, not the run
            insights = [f"(insights not distilled: {one_line(exc)})"]
        write_json_atomic(ws.insights_path, insights)
    c.llm.save_usage(ws.usage_path)
    state.elapsed_s = orchestrator.clock.spent_s()
    trained = [r for r in results if was_trained(r)]
    state.status = "failed" if trained and not any(r.ok for r in trained) else "done"
    state.stop_reason = reason or "finished"
    if state.status == "failed":
        state.error = "every evaluation failed: see failures in the report"
    ws.save_state(state)
    if settings.write_report:
        refresh_report(ws.root)
    finals = ["state.json", "insights.json", "llm/usage.json", "llm/cassette.jsonl", "report.md", "report.html",
              "report_files", "modules"]
    if settings.lightweight:  # no commit per experiment: one commit holds them all
        finals.append("experiments")
    ws.commit(finals, f"Campaign {state.status}: {state.stop_reason}")
    tag_best(ws, records)  # the records read above: nothing was added since
    ws.close()


def _library(c: Collaborators) -> ModuleLibrary | None:
    """The coder's op library: agentic campaigns on trained tasks only (a lookup table has fixed cells)."""
    if c.spec.strategy != "agentic" or c.task.kind != "train":
        return None
    return ModuleLibrary(c)


def _fail(ws: Workspace, state: CampaignState, message: str) -> None:
    state.status, state.error = "failed", message
    ws.save_state(state)
    raise CampaignError(message)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def stored_settings(state: CampaignState, given: CampaignSettings | None) -> CampaignSettings:
    """The stored settings, with only the runtime ones (callbacks, refresh) taken from `given`."""
    stored = CampaignSettings.model_validate(state.settings) if state.settings else CampaignSettings()
    if given is None:
        return stored
    runtime = {name: getattr(given, name) for name in _RUNTIME_ONLY}
    runtime.update({k: getattr(given, k) for k in _RESUME_MAY_CHANGE if k in given.model_fields_set})
    return stored.model_copy(update=runtime)


def recover_prefix(ws: Workspace, settings: CampaignSettings) -> list[dict[str, Any]]:
    """A stopped or killed campaign's records made whole again before it goes on: the recorded
    prefix (work past it was in flight and is removed) and a commit for any experiment a kill -9
    left uncommitted. Used by resume and by `archlab confirm`."""
    prefix = _recorded_prefix(ws)
    ws.clean_leftovers(keep_before=len(prefix) + 1)
    _commit_uncommitted(ws, prefix, lightweight=settings.lightweight)
    return prefix


def _recorded_prefix(ws: Workspace) -> list[dict[str, Any]]:
    """Records e0001.. up to the first gap or unreadable one (later ones were in flight)."""
    prefix: list[dict[str, Any]] = []
    for exp in ws.finished_ids():
        if exp_number(exp) != len(prefix) + 1:
            break
        try:
            record = ws.read_record_json(exp)
            Result.model_validate(record["result"])
        except (OSError, ValueError, KeyError):
            break
        prefix.append(record)
    return prefix


def _commit_uncommitted(ws: Workspace, prefix: list[dict[str, Any]], lightweight: bool) -> None:
    """An experiment written just before a kill -9 but never committed gets its commit now."""
    if lightweight:
        return
    committed = ws.committed_experiments()
    for record in prefix:
        if record["id"] not in committed:
            ws.commit([f"experiments/{record['id']}"], f"{record['id']}: recovered after an interrupted run")
