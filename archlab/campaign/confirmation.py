"""The confirmation stage: train the top candidates again before the campaign names its best.

One training on a small validation split is mostly noise (MNIST-1D validates on
400 samples: one sample is 0.25 points), and the search picks the luckiest run
of many, so the top of its leaderboard is biased upwards (Yang et al., "NAS
evaluation is frustratingly hard", 2020). After the search, the `top_k`
distinct candidates by validation (`records.rank_candidates`) are trained again
at full fidelity with `seeds` fresh seeds each; the search's own run, which they
were selected on, is not counted. When the validation split is small
(`ConfirmSpec.small_val`), every run also holds out a seeded part of the
training data and is scored on it and the validation split together (a pooled
accuracy over `ConfirmSpec.pool` samples); run `j` uses the same seed and the
same holdout for every candidate, so the candidates are compared pairwise. The
labels of the held-out samples never enter the sandbox (`sandbox.Holdout`). The
best is then the confirmed candidate with the highest mean (`records.BEST_RULE`).

Each run is its own experiment, like a promotion: a new id after the search's,
whose parent is the candidate and whose edit is `{"kind": "confirm",
"source_id", "seed", "holdout"}`; one folder (with the trained weights,
`weights.safetensors`), one record in memory and one commit each. The plan is a
pure function of the search's records and the ConfirmSpec, so a resume redoes
exactly the runs that are missing and a replay makes the same ones.

How it is paid for (`ConfirmSpec.paid_by`): "reserve" takes its trainings out
of the budget (the search's evaluation budget is `max_evals - top_k * seeds`,
and with a time budget the search stops once the time left is what the
confirmation is estimated to need); "extra" runs after the search's budget.
"""

from __future__ import annotations

import math
import shutil
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from archlab.campaign.modules import uses_mined
from archlab.campaign.status import best_message, campaign_best, load_records, scored
from archlab.campaign.workspace import exp_id, exp_number
from archlab.errors import one_line
from archlab.records import Budget, CampaignSpec, ConfirmSpec, Pick, Result, confirmation_source, rank_candidates

if TYPE_CHECKING:
    from archlab.campaign.collaborators import Collaborators
    from archlab.campaign.state import CampaignState
    from archlab.sandbox import Task

WEIGHTS_FILE = "weights.safetensors"  # in a confirmation run's experiment folder
STAGING = ".tmp-weights"  # experiments/.tmp-weights/<id>.safetensors while a run trains (removed on resume)
HOLDOUT_SHARE = 0.2  # a holdout never takes more than this share of the training data
TIME_MARGIN = 1.1  # the time reserve's safety factor over the measured training times


class Confirmation(BaseModel):
    """The `edit` of a confirmation run: the candidate's tree, trained again with another seed."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["confirm"] = "confirm"
    source_id: str  # the candidate (a search experiment)
    seed: int  # the training seed of this run
    holdout: int = 0  # training samples held out and scored with the validation split (0: none)
    holdout_seed: int | None = None
    description: str = ""  # read by the edit one-liners of the report and the knowledge room

    def describe(self) -> str:
        pooled = f", holdout {self.holdout:,} training samples" if self.holdout else ""
        return self.description or f"confirm {self.source_id} with seed {self.seed}{pooled}"

    @classmethod
    def of(cls, source_id: str, seed: int, holdout: int, holdout_seed: int | None) -> Confirmation:
        made = cls(source_id=source_id, seed=seed, holdout=holdout, holdout_seed=holdout_seed)
        return made.model_copy(update={"description": made.describe()})


def is_confirmation(record: dict[str, Any]) -> bool:
    return confirmation_source(record.get("edit")) is not None


def search_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The search's records: those before the first confirmation run (confirmations come after the search)."""
    found = []
    for record in records:
        if is_confirmation(record):
            break
        found.append(record)
    return found


# ---- how the stage is paid for ----------------------------------------------------------------------


def reserves(spec: CampaignSpec, task_kind: str) -> bool:
    """Whether the search leaves part of the budget to the confirmation."""
    return spec.confirm is not None and spec.confirm.paid_by == "reserve" and task_kind == "train"


def search_budget(spec: CampaignSpec, task_kind: str) -> Budget:
    """The budget the search runs under: the whole budget, less the confirmation's trainings when it reserves them."""
    if not reserves(spec, task_kind) or spec.budget.max_evals is None:
        return spec.budget
    assert spec.confirm is not None
    return spec.budget.model_copy(update={"max_evals": max(1, spec.budget.max_evals - spec.confirm.trainings)})


def time_reserve_s(spec: CampaignSpec, task_kind: str, walls: list[float], workers: int) -> float | None:
    """Seconds the confirmation is estimated to need: its trainings in rounds of `workers`, each as long as
    the median full-fidelity training so far (`walls`); None when nothing is reserved or known yet."""
    if not reserves(spec, task_kind) or spec.budget.minutes is None or not walls:
        return None
    assert spec.confirm is not None
    rounds = math.ceil(spec.confirm.trainings / max(1, workers))
    return rounds * statistics.median(walls) * TIME_MARGIN


# ---- what to train -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRun:
    """One confirmation training: which candidate, which seed, which holdout."""

    source: dict[str, Any]  # the candidate's record
    seed_index: int
    edit: Confirmation

    @property
    def key(self) -> tuple[str, int, int]:
        return self.edit.source_id, self.edit.seed, self.edit.holdout


def holdout_size(task: Task, confirm: ConfirmSpec) -> tuple[int, str]:
    """Training samples each run holds out (0: none) and one line saying why."""
    n_val, n_train = int(task.sizes.get("val", 0)), int(task.sizes.get("train", 0))
    if confirm.holdout == "never":
        return 0, f"the official validation split alone ({n_val:,} samples; holdout off)"
    if not n_val or n_val >= confirm.small_val:
        return 0, f"the official validation split alone ({n_val:,} samples, not below {confirm.small_val:,})"
    size = min(confirm.pool - n_val, int(n_train * HOLDOUT_SHARE))
    if size < 1:
        return 0, f"the official validation split alone ({n_val:,} samples; too little training data to hold out)"
    return size, (f"the validation split ({n_val:,} samples, small: below {confirm.small_val:,}) pooled with "
                  f"{size:,} of the {n_train:,} training samples held out, drawn afresh per seed")


def plan_runs(records: list[dict[str, Any]], confirm: ConfirmSpec, base_seed: int, holdout: int) -> list[PlannedRun]:
    """The stage's trainings, seed by seed (paired: run j has the same seed and holdout for every candidate)."""
    search = search_records(records)
    by_id = {r["id"]: r for r in search}
    top = [by_id[pick.id] for pick in rank_candidates([scored(r) for r in search])[: confirm.top_k]]
    runs = []
    for j in range(confirm.seeds):
        seed = base_seed + 1 + j
        for source in top:
            edit = Confirmation.of(source["id"], seed, holdout, seed if holdout else None)
            runs.append(PlannedRun(source=source, seed_index=j, edit=edit))
    return runs


# ---- the stage -------------------------------------------------------------------------------------


Progress = Callable[[str, "Pick | None"], None]


class ConfirmationStage:
    """Runs (or resumes) the confirmation of one campaign with its collaborators."""

    def __init__(self, c: Collaborators, state: CampaignState, confirm: ConfirmSpec,
                 progress: Progress | None = None) -> None:
        self.c, self.state, self.confirm = c, state, confirm
        self.ws, self.spec, self.settings = c.workspace, c.spec, c.settings
        self.progress = progress

    def run(self, deadline: float | None = None) -> str:
        """Train the missing runs and record them in plan order; returns the one-line outcome.

        `deadline` (time.monotonic()): runs not finished by then are cancelled (a resume or
        `archlab confirm DIR` does them later)."""
        if self.c.task.kind != "train":
            return ("no confirmation: a lookup table has one number per cell, so there is nothing to train again; "
                    "the best is its single validation figure")
        records = load_records(self.ws)
        holdout, scored_on = holdout_size(self.c.task, self.confirm)
        plan = plan_runs(records, self.confirm, self.spec.seed, holdout)
        if not plan:
            return "no confirmation: no candidate succeeded"
        done = {self._key(r): r for r in records if is_confirmation(r)}
        missing = [run for run in plan if run.key not in done]
        next_number = max((exp_number(r["id"]) for r in records), default=0) + 1
        ids = {run.key: exp_id(next_number + i) for i, run in enumerate(missing)}
        futures = [(run, ids[run.key], self._submit(run, ids[run.key])) for run in missing]
        finished = len(plan) - len(missing)
        try:
            for run, exp, future in futures:
                result = self._wait(future, deadline)
                if result is None:
                    break
                self._record(run, exp, result)
                finished += 1
                best = campaign_best(load_records(self.ws))
                if self.progress is not None:
                    self.progress(self._line(exp, run, result), best)
        finally:
            for _, _, future in futures:
                future.cancel()
            shutil.rmtree(self.ws.experiments / STAGING, ignore_errors=True)
        candidates = len({run.edit.source_id for run in plan})
        outcome = (f"confirmed the top {candidates} candidate{'s' if candidates != 1 else ''} with "
                   f"{self.confirm.seeds} fresh seed{'s' if self.confirm.seeds != 1 else ''} each "
                   f"({finished} of {len(plan)} runs), scored on {scored_on}")
        if finished < len(plan):
            outcome += f"; time ran out: `archlab confirm {self.ws.root}` trains the {len(plan) - finished} missing"
        best = campaign_best(load_records(self.ws))
        if best is not None:
            outcome += f"; {best_message(best)}"
            if not self.settings.lightweight:
                self.ws.tag_best(best.id, best_message(best))
        return outcome

    @staticmethod
    def _key(record: dict[str, Any]) -> tuple[str, int, int]:
        edit = record.get("edit") or {}
        return str(edit.get("source_id")), int(edit.get("seed", -1)), int(edit.get("holdout", 0))

    def _submit(self, run: PlannedRun, exp: str) -> Future[Result]:
        from archlab.sandbox import EvalRequest, Holdout, Limits

        arch = run.source["arch"]
        staging = self.ws.experiments / STAGING
        staging.mkdir(exist_ok=True)
        holdout = Holdout(seed=int(run.edit.holdout_seed or 0), size=run.edit.holdout) if run.edit.holdout else None
        request = EvalRequest(
            exp_id=exp, arch=arch, task=self.spec.task, fidelity=1.0, seed=run.edit.seed,
            recipe_overrides=dict(self.settings.recipe_overrides),
            constraints=self.spec.constraints if uses_mined(arch) else None,
            limits=Limits(time_s=self.settings.eval_time_s, memory_mb=self.settings.eval_memory_mb),
            weights_path=str(staging / f"{exp}.safetensors"), holdout=holdout)
        return self.c.executor.submit(request)

    @staticmethod
    def _wait(future: Future[Result], deadline: float | None) -> Result | None:
        while not future.done():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            wait_futures([future], timeout=0.5 if left is None else min(0.5, max(left, 0.01)))
        return future.result()

    def _record(self, run: PlannedRun, exp: str, result: Result) -> None:
        """Write the run's folder (weights moved in), remember it, commit it."""
        from archlab.knowledge import ExperimentRecord

        staged = self.ws.experiments / STAGING / f"{exp}.safetensors"
        moves = {}
        if result.ok and result.weights_file and staged.is_file():
            moves[WEIGHTS_FILE] = staged
            result = result.model_copy(update={"weights_file": f"experiments/{exp}/{WEIGHTS_FILE}"})
        else:
            result = result.model_copy(update={"weights_file": None})
        source = run.source
        now = datetime.now(timezone.utc)
        record = ExperimentRecord(
            id=exp, campaign=self.state.campaign, generation=int(source.get("generation", 0)),
            parent_ids=[source["id"]], edit=run.edit.model_dump(mode="json"), arch=source["arch"],
            arch_hash=source["arch_hash"], code_path=f"experiments/{exp}/model.py", result=result,
            strategy=self.spec.strategy, task=self.spec.task, created_at=now, finished_at=now)
        code = self.ws.experiment_dir(source["id"]) / "model.py"
        self.ws.write_experiment(exp, {
            "record.json": record.model_dump_json(indent=2) + "\n",
            "arch.json": self._arch_text(source),
            "model.py": code.read_text(encoding="utf-8") if code.is_file() else "",
        }, moves=moves)
        self.c.memory.add(record)
        self.state.next_exp = exp_number(exp) + 1
        self.ws.save_state(self.state)
        if not self.settings.lightweight:
            self.ws.commit([f"experiments/{exp}", "state.json"], self._line(exp, run, result))

    def _arch_text(self, source: dict[str, Any]) -> str:
        path = self.ws.experiment_dir(source["id"]) / "arch.json"
        if path.is_file():
            return path.read_text(encoding="utf-8")
        from archlab.tools import Arch

        return Arch.model_validate(source["arch"]).model_dump_json(indent=2) + "\n"

    @staticmethod
    def _line(exp: str, run: PlannedRun, result: Result) -> str:
        if result.ok:
            what = f"val {100 * (result.val_accuracy or 0):.2f}%"
        else:
            what = f"failed ({result.failure}: {one_line(result.error, 120)})"
        return f"{exp}: {run.edit.describe()} -> {what}"


# ---- the hooks: after the search, and `archlab confirm DIR` ------------------------------------------


def stage_spec(spec: CampaignSpec, state: CampaignState) -> ConfirmSpec | None:
    """The ConfirmSpec a campaign confirms with: the one its stage started with, else the spec's."""
    if state.confirm is not None:
        return ConfirmSpec.model_validate(state.confirm)
    return spec.confirm


def begin(state: CampaignState, confirm: ConfirmSpec, search_reason: str) -> None:
    """Mark the search as over (a resume from here on only confirms)."""
    if state.phase != "confirm":
        state.phase, state.search_stop_reason = "confirm", search_reason
    state.confirm = confirm.model_dump(mode="json")


def confirm_after_search(c: Collaborators, state: CampaignState, reason: str, *, deadline: float | None,
                         progress: Progress | None = None) -> str:
    """The hook `lifecycle` calls once the search has stopped: confirm when the spec asks for it.
    Returns the campaign's stop reason (the search's)."""
    confirm = stage_spec(c.spec, state)
    if confirm is None:
        return reason
    if state.phase == "confirm":
        reason = state.search_stop_reason or reason
    begin(state, confirm, reason)
    c.workspace.save_state(state)
    if confirm.paid_by == "extra":
        deadline = None
    state.confirm_note = ConfirmationStage(c, state, confirm, progress).run(deadline)
    c.workspace.save_state(state)
    return reason


def time_left_deadline(minutes: float | None, spent_s: float, grace_s: float) -> float | None:
    """The monotonic time at which a time budget (plus its grace) runs out; None without one."""
    if minutes is None:
        return None
    return time.monotonic() + max(0.0, minutes * 60.0 - spent_s) + grace_s


def staged_weights(root: Path) -> Path:
    return Path(root) / "experiments" / STAGING
