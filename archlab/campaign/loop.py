"""The orchestrator loop: keep the executor full while the agents think.

Determinism comes from a fixed lag. Proposal `i` (0-based; experiment number
`i + 1`) may use the results of proposals `< i - lag` and of nothing else, with
`lag` = the number of workers fixed at creation. Before proposing `i` the loop
waits for exactly those results and folds them in *in order* (analysis, files,
git, memory, search.observe). So how fast threads or workers happen to be can
change when things happen, never what is decided: the same spec, seed and mock
model give the same candidates in the same order, and a resumed campaign
replays its recorded prefix through the search to reach the same state.

A proposal is either the search's next step or, when a visible low-fidelity
result earned it, a promotion of that tree to full fidelity (promotion.py); a
few steps also ask the coder for a new module first (library.py). Both are
decided from the same visible prefix, so they are as deterministic as the rest.

One proposal, end to end: `Proposer.prepare` (proposing.py) -> the memory's
cache or `executor.submit` (here) -> `Recorder.finish` and `Recorder.observe`
(recording.py), each calling the other rooms' objects directly (collaborators.py).
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from typing import Any

from archlab.campaign.candidate import PreparedCandidate, describe_edit, was_trained
from archlab.campaign.collaborators import Collaborators
from archlab.campaign.errors import SpendStop
from archlab.campaign.evaluation import train_request
from archlab.campaign.confirmation import search_budget, time_reserve_s
from archlab.campaign.proposing import Proposer
from archlab.campaign.recording import CheckpointCadence, Recorder
from archlab.campaign.report_refresh import refresh_report
from archlab.campaign.settings import LeaderboardRow, ProgressEvent
from archlab.campaign.state import CampaignState
from archlab.campaign.stop_clock import StopClock
from archlab.records import Pick, Result, search_key


@dataclass
class Pending:
    """One proposal on its way: prepared now, folded in when its turn comes."""

    index: int
    candidate: PreparedCandidate
    future: Future[Result] | None = None  # None: the result is already known
    result: Result | None = None
    recorded: dict[str, Any] | None = None  # the record of a replayed prefix entry
    trained: bool = False


@dataclass
class Tally:
    """Counters shown live and written to state.json."""

    evaluated: int = 0
    failed: int = 0
    cached: int = 0
    rejected: int = 0
    submitted: int = 0  # trainings sent to the executor (the eval budget counts these)
    best_id: str | None = None
    best_val: float | None = None
    best_key: tuple[float, ...] | None = None  # `records.search_key` of the best: the one rule, kept incrementally
    board: list[LeaderboardRow] = field(default_factory=list)
    full_walls: list[float] = field(default_factory=list)  # wall times of full-fidelity trainings (time reserve)


class Orchestrator:
    """Runs (or resumes) one campaign in its workspace until a budget stops it."""

    def __init__(self, c: Collaborators, state: CampaignState, proposer: Proposer, recorder: Recorder,
                 prefix: list[dict[str, Any]]) -> None:
        self.c, self.state, self.proposer, self.recorder = c, state, proposer, recorder
        self.ws, self.spec, self.settings = c.workspace, c.spec, c.settings
        self.top_fidelity = proposer.fidelities[-1]
        self.prefix = prefix  # records of finished experiments, e0001.. in order
        self.lag = max(1, state.lag)
        self.tally = Tally()
        self.pending: deque[Pending] = deque()
        self.hash_owner: dict[tuple[str, float], Pending] = {}  # in-campaign dedup
        self.clock = StopClock(search_budget(self.spec, c.task.kind), spent_s=state.elapsed_s)
        self.cadence = CheckpointCadence(self.settings.lightweight)
        self.finished = 0  # proposals folded in so far
        self.idle_streak = 0
        self.last_report = time.monotonic()
        self.stop_reason = ""

    # ---- the loop ------------------------------------------------------------------

    def run(self) -> str:
        """Propose, submit and fold in until a budget says stop; returns the reason."""
        index = 0
        while True:
            if not self._catch_up(index):
                break
            if index >= len(self.prefix):
                self.stop_reason = self._should_stop()
                if self.stop_reason:
                    break
            try:
                self.pending.append(self._prepare(index))
            except SpendStop as stop:
                self.stop_reason = str(stop)
                break
            index += 1
        self._drain()
        self._checkpoint()  # the last one, whatever the cadence skipped
        return self.stop_reason

    def _catch_up(self, index: int) -> bool:
        """Fold in exactly the results proposal `index` may see; False if time ran out."""
        while self.finished < index - self.lag:
            if not self._fold_next():
                return False
        return True

    def _should_stop(self) -> str:
        reason = self.clock.reason(self.tally.submitted, self._usage())
        if reason:
            return reason
        if self.idle_streak >= self.settings.stall_limit:
            return f"stalled: {self.idle_streak} proposals in a row trained nothing new"
        reserve = time_reserve_s(self.spec, self.c.task.kind, self.tally.full_walls, self.lag)
        left = self.clock.seconds_left()
        if reserve is not None and left is not None and left <= reserve:
            return f"time: the last {reserve:.0f} s of the budget are kept for the confirmation stage"
        return ""

    def _prepare(self, index: int) -> Pending:
        """Propose candidate `index` and start its evaluation (or reuse a known result)."""
        if index < len(self.prefix):  # resume: the decision and result are on disk
            record = self.prefix[index]
            candidate = self.proposer.replay(index, record)
            result = Result.model_validate(record["result"])
            entry = Pending(index, candidate, result=result, recorded=record)
            if was_trained(result):
                self.tally.submitted += 1
                self._remember_hash(entry)
            return entry
        visible = index - self.lag
        candidate = self.proposer.prepare(index, visible)
        entry = Pending(index, candidate)
        if candidate.result is not None:  # rejected (constraint) or invalid: never trained
            entry.result = candidate.result
            self.idle_streak += 1
            return entry
        owner = self.hash_owner.get((candidate.arch_hash, candidate.fidelity))
        known = None if owner is not None else self.c.memory.lookup(candidate.arch_hash, candidate.fidelity,
                                                                    task=self.spec.task)
        if owner is not None:  # an earlier proposal of this campaign, done or in flight
            entry.future, entry.result = owner.future, owner.result
            candidate.cached_from = owner.candidate.exp_id
            self.idle_streak += 1
        elif known is not None:  # the shared memory has it (another campaign)
            entry.result = known
            self.idle_streak += 1
        else:
            entry.future = self.c.executor.submit(train_request(candidate, self.spec, self.settings))
            entry.trained = True
            self.tally.submitted += 1
            self.idle_streak = 0
            self._remember_hash(entry)
        return entry

    def _remember_hash(self, entry: Pending) -> None:
        self.hash_owner.setdefault((entry.candidate.arch_hash, entry.candidate.fidelity), entry)

    # ---- folding results in, in order ----------------------------------------------

    def _fold_next(self) -> bool:
        """Wait for the oldest pending result and fold it in; False if time ran out."""
        entry = self.pending[0]
        if entry.future is not None and not entry.future.done():
            while not entry.future.done():
                remaining = self.clock.seconds_left()
                if remaining is not None and remaining <= 0 and not self.stop_reason:
                    self.stop_reason = self.clock.reason(self.tally.submitted, self._usage())
                    return False
                wait_futures([entry.future], timeout=0.5 if remaining is None else min(0.5, max(remaining, 0.01)))
        self.pending.popleft()
        self._fold(entry)
        return True

    def _fold(self, entry: Pending) -> None:
        result = entry.future.result() if entry.future is not None else entry.result
        assert result is not None
        replaying = entry.recorded is not None
        if not replaying and not entry.trained and entry.candidate.result is None:
            result = result.model_copy(update={"cached": True})  # reused, not trained
        entry.result = result
        record = entry.recorded if entry.recorded is not None else self.recorder.finish(entry.candidate, result)
        self.recorder.observe(entry.candidate, result)
        self.finished += 1
        new_best = self._count(record, result)
        if not replaying:
            if self.cadence.due():
                self._checkpoint()
            self.recorder.commit(entry.candidate, result)
            if new_best:
                self.recorder.tag_best(record["id"], result)
            self._progress(self._line(record, result))
            self._maybe_refresh_report()

    def _count(self, record: dict[str, Any], result: Result) -> bool:
        """Update the counters and the leaderboard; True when this is a new best."""
        tally = self.tally
        if result.cached:
            tally.cached += 1
        elif result.failure in ("constraint", "invalid"):
            tally.rejected += 1
        else:
            tally.evaluated += 1
            tally.failed += int(result.status == "failed")
        if not (result.ok and result.val_accuracy is not None):
            return False
        if not result.cached and result.fidelity >= self.top_fidelity - 1e-9:
            tally.full_walls.append(result.wall_s)
        top = self.top_fidelity  # like with like: a full-fidelity result outranks any shorter one
        row = LeaderboardRow(id=record["id"], val_accuracy=result.val_accuracy, params=result.params,
                             edit=describe_edit(record.get("edit")), fidelity=result.fidelity)
        tally.board = sorted([*tally.board, row], key=lambda r: (r.fidelity < top - 1e-9, -(r.val_accuracy or 0.0),
                                                                r.params if r.params is not None else float("inf")))[:5]
        key = search_key(record["id"], result)  # the best by `records.BEST_RULE` (nothing is confirmed yet)
        if tally.best_key is None or key > tally.best_key:
            tally.best_key, tally.best_val, tally.best_id = key, result.val_accuracy, record["id"]
            return True
        return False

    def _drain(self) -> None:
        """Finish in-flight work: all of it after an eval budget, within a grace after time."""
        grace_end = time.monotonic() + self.settings.grace_s
        timed = self.stop_reason.startswith("time")
        while self.pending:
            entry = self.pending[0]
            if entry.future is not None and not entry.future.done():
                if timed:
                    left = grace_end - time.monotonic()
                    if left <= 0:
                        break
                    wait_futures([entry.future], timeout=left)
                    if not entry.future.done():
                        break
            self.pending.popleft()
            self._fold(entry)
        for entry in self.pending:  # lost like a kill -9: a resume would redo them
            if entry.future is not None:
                entry.future.cancel()
        self.pending.clear()

    # ---- bookkeeping -------------------------------------------------------------------

    def _checkpoint(self) -> None:
        tally, state = self.tally, self.state
        state.next_exp = self.finished + 1
        state.evaluated, state.failed = tally.evaluated, tally.failed
        state.cached, state.rejected, state.best_id = tally.cached, tally.rejected, tally.best_id
        state.elapsed_s = self.clock.spent_s()
        self.ws.save_state(state)
        self.c.llm.save_usage(self.ws.usage_path)

    def _line(self, record: dict[str, Any], result: Result) -> str:
        if result.cached:
            what = "cached"
        elif result.ok:
            what = f"ok val {100 * (result.val_accuracy or 0):.1f}%"
            if result.fidelity < self.top_fidelity - 1e-9:  # a screen: the best is read at the top fidelity
                what += f" at fidelity {result.fidelity:g}"
        else:
            what = f"{result.failure}: {result.error.splitlines()[0] if result.error else ''}"
        params = f" ({result.params:,} params)" if result.params else ""
        return f"{record['id']} {what}{params}".strip()

    def progress_event(self, message: str) -> ProgressEvent:
        tally = self.tally
        fraction, label = self.clock.fraction(tally.submitted, self._usage())
        in_flight = sum(1 for e in self.pending if e.future is not None and not e.future.done())
        return ProgressEvent(
            message=message, done=self.finished, evaluated=tally.evaluated, in_flight=in_flight,
            failed=tally.failed, cached=tally.cached, rejected=tally.rejected,
            best_id=tally.best_id, best_val=tally.best_val, budget_fraction=fraction,
            budget_label=label, elapsed_s=self.clock.spent_s(), leaderboard=list(tally.board))

    def note(self, message: str, best: Pick | None) -> None:
        """A line from the confirmation stage, with the best by the one rule now (its mean once confirmed)."""
        if best is not None:
            self.tally.best_id, self.tally.best_val = best.id, best.val_mean
        self._progress(message)

    def _progress(self, message: str) -> None:
        if self.settings.progress is not None:
            self.settings.progress(self.progress_event(message))

    def _maybe_refresh_report(self) -> None:
        if self.settings.write_report and time.monotonic() - self.last_report >= self.settings.report_every_s:
            self.last_report = time.monotonic()
            refresh_report(self.ws.root)

    def _usage(self) -> dict[str, Any]:
        return self.c.llm.usage.totals()
