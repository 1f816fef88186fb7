"""Folding one result in: the recording half of one experiment.

analyst (full agentic runs) -> record.json, arch.json, model.py written atomically (a lightweight
campaign: one line of the records log) ->
memory -> search.observe (or supersede, for a promotion) -> git commit, best tag.
The loop calls these in proposal order, so the folder, the memory and the search see
every experiment in the same order, live, on resume and on replay.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from archlab.campaign.candidate import PreparedCandidate, commit_message, describe_edit
from archlab.campaign.collaborators import Collaborators
from archlab.campaign.errors import SpendStop, guarded
from archlab.campaign.history import History
from archlab.campaign.model_files import render_source
from archlab.campaign.promotion import Promotion
from archlab.campaign.workspace import exp_number
from archlab.records import Result
from archlab.tools import Edit

if TYPE_CHECKING:
    from archlab.knowledge import ExperimentRecord


class Recorder:
    """Writes, remembers and commits each finished experiment, and tells the search."""

    def __init__(self, c: Collaborators, history: History, campaign: str) -> None:
        self.c, self.history, self.campaign = c, history, campaign
        self.lightweight = c.settings.lightweight

    def finish(self, candidate: PreparedCandidate, result: Result) -> dict[str, Any]:
        """Analyse, write atomically and add to memory; returns the record as written."""
        from archlab.knowledge import ExperimentRecord

        spec = self.c.spec
        record = ExperimentRecord(
            id=candidate.exp_id, campaign=self.campaign, generation=candidate.generation,
            parent_ids=candidate.parent_ids, edit=_dump(candidate.edit),
            arch=candidate.arch.model_dump(mode="json"), arch_hash=candidate.arch_hash,
            code_path=f"experiments/{candidate.exp_id}/model.py", result=result,
            strategy=spec.strategy, task=spec.task, decision=candidate.decision,
            created_at=candidate.created_at, finished_at=datetime.now(timezone.utc))
        plain = record.model_copy()  # memory gets no analysis: decisions must not depend on it
        if not self.lightweight and spec.strategy == "agentic":  # baselines use no model at all
            try:
                text, insights = self._analyze(candidate, record)
            except SpendStop as stop:  # the result stays; the loop stops at its next budget check
                text, insights = f"(no analysis: {stop})", []
            record = record.model_copy(update={"analysis": text, "insights": insights})
        if self.lightweight:  # one line of the records log (record_log.py); model.py rendered on demand
            self.c.workspace.log_record(record.model_dump_json())
        else:
            self.c.workspace.write_experiment(candidate.exp_id, {
                "record.json": record.model_dump_json(indent=2) + "\n",
                "arch.json": candidate.arch.model_dump_json(indent=2) + "\n",
                "model.py": render_source(candidate.arch, self.c.task.input_shape, self.c.task.num_classes)})
        self.c.memory.add(plain)
        for text in record.insights:
            self.c.memory.add_insight(text, self.campaign, {"exp_id": record.id})
        return record.model_dump(mode="json")

    def _analyze(self, candidate: PreparedCandidate, record: ExperimentRecord) -> tuple[str, list[str]]:
        if record.id in self.c.recorded_analyses:  # a replay: the analysis read measured timings
            return self.c.recorded_analyses[record.id]
        parent = self.history.parent_record(candidate)
        memories = self.history.memories(candidate.arch, describe_edit(candidate.edit), exp_number(candidate.exp_id))
        analysis = guarded(lambda: self.c.analyst.analyze(record, parent, memories, step=candidate.exp_id))
        return analysis.text, list(analysis.insights)

    def observe(self, candidate: PreparedCandidate, result: Result) -> None:
        """Tell the search (a promotion is a better estimate of a tree it holds, not a step)."""
        if isinstance(candidate.edit, Promotion):
            self.c.search.supersede(candidate.edit.source_id, result)
        else:
            self.c.search.observe(candidate.exp_id, candidate.arch, result)
        self.history.add(candidate, result)

    def commit(self, candidate: PreparedCandidate, result: Result) -> None:
        """One git commit per finished experiment (after state.json is saved)."""
        if not self.lightweight:
            self.c.workspace.commit([f"experiments/{candidate.exp_id}", "state.json", "llm/usage.json"],
                                    commit_message(candidate, result, self._edit_label(candidate)))

    def tag_best(self, exp: str, result: Result) -> None:
        if not self.lightweight:
            self.c.workspace.tag_best(exp, f"best so far: {exp} val {100 * (result.val_accuracy or 0):.2f}%")

    def summarize(self, records: list[dict[str, Any]]) -> list[str]:
        """The analyst's distilled insights for the report (a replay re-uses the original's)."""
        if self.c.recorded_insights is not None:
            return list(self.c.recorded_insights)
        if not records:
            return []
        return list(guarded(lambda: self.c.analyst.summarize(records)))

    def _edit_label(self, candidate: PreparedCandidate) -> str:
        seeds = self.c.spec.seed_archs
        if candidate.edit is None and not candidate.parent_ids and candidate.index < len(seeds):
            return f"seed {seeds[candidate.index]} as given"
        return describe_edit(candidate.edit)


def _dump(edit: Edit | Promotion | None) -> dict[str, Any] | None:
    return None if edit is None else edit.model_dump(mode="json")


class CheckpointCadence:
    """When the loop saves `state.json` and `llm/usage.json`: after every experiment in a full
    campaign (each commit holds its checkpoint); in a lightweight one at most every
    `interval_s` seconds, and always when the loop ends. Nothing a resume needs is lost
    between checkpoints: it rebuilds its counters and decisions from the records on disk
    (loop.py folds the recorded prefix in again). After a kill -9, only the wall time and the
    model usage of those last moments are missing from `state.json` and `usage.json` (every
    exchange is still in the cassette)."""

    def __init__(self, lightweight: bool, interval_s: float = 0.5) -> None:
        self.lightweight, self.interval_s = lightweight, interval_s
        self._last = time.monotonic()

    def due(self) -> bool:
        if not self.lightweight:
            return True
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return False
        self._last = now
        return True

