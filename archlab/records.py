"""Records that cross room boundaries.

Every room may import this module (it imports nothing from archlab), so the
one-way import rule of DESIGN.md holds: the sandbox produces a `Result`, the
knowledge store, the search backbone, the agents, the campaign and the report
all read it, and none of them needs to import the sandbox to do so.

All values here are plain pydantic v2 models: JSON round-trippable, validated on
the way in, stable field names (they are written to campaign folders on disk).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

FailureKind = Literal[
    "invalid",  # the tree failed validation (should never happen for legal edits)
    "compile",  # building the torch module or importing candidate code failed
    "timeout",  # the wall-clock limit was hit; the worker was killed and replaced
    "memory",  # the memory limit was hit (MemoryError or the worker was OOM-killed)
    "diverged",  # NaN/inf loss during training
    "crashed",  # anything else: an exception in forward/backward, a dead worker
    "constraint",  # broke a campaign constraint before training; never trained
    "sandbox",  # the sandbox refused what the candidate did, or its reply did not add up
]

Strategy = Literal["agentic", "evolution", "random"]


class CurvePoint(BaseModel):
    """One point of a learning curve."""

    step: int
    train_loss: float
    val_accuracy: float | None = None


class Result(BaseModel):
    """The outcome of one evaluation, success or not.

    Accuracies are fractions in [0, 1]. The search only ever reads the `val_*`
    fields; `test_*` are computed once per candidate and kept for the report.
    """

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "failed"]
    failure: FailureKind | None = None
    error: str = ""  # one line, then the traceback tail on failure
    val_accuracy: float | None = None
    val_loss: float | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None
    train_accuracy: float | None = None  # for the evaluator's train/val gap check
    params: int | None = None
    flops: int | None = None
    latency_ms: float | None = None
    wall_s: float = 0.0  # whole evaluation as seen by the executor
    train_s: float = 0.0  # pure training time inside the worker
    steps: int = 0  # optimisation steps actually done
    fidelity: float = 1.0  # fraction of the task's full step budget
    curve: list[CurvePoint] = Field(default_factory=list)
    proxies: dict[str, float] = Field(default_factory=dict)  # zero-cost scores
    proxy_s: float = 0.0
    cached: bool = False  # reused from memory (structural dedup), not trained
    device: str = "cpu"
    peak_mem_mb: float | None = None
    mined_ops: list[dict] = Field(default_factory=list)  # a `mine` request's ops (tools.MinedOp JSON)
    weights_file: str | None = None  # trained weights (safetensors, checked by the sandbox), if asked for

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Constraints(BaseModel):
    """Hard limits a candidate must meet before it is ever trained."""

    max_params: int | None = None
    max_flops: int | None = None
    max_latency_ms: float | None = None


class Budget(BaseModel):
    """When a campaign stops: the first limit reached wins."""

    max_evals: int | None = 40
    minutes: float | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None


class ConfirmSpec(BaseModel):
    """The confirmation stage: how the best is checked before the campaign ends, and how it is paid for.

    After the search, the `top_k` distinct candidates by validation accuracy are
    trained again with `seeds` fresh seeds each (the search's own run is not
    counted: it is the run they were selected on). When the validation split has
    fewer than `small_val` samples, each of those runs also scores a repeated
    holdout of the training data, drawn afresh per seed and the same for every
    candidate (paired), sized so that the run is scored on `pool` samples (at most
    a fifth of the training data): the run's validation accuracy is then the pooled
    accuracy over the official validation split and that holdout, whose labels
    never enter the sandbox. `holdout="never"` keeps the official split alone.
    `paid_by="reserve"`: the confirmation's trainings come out of the budget (the
    search stops `top_k * seeds` evaluations early, and early enough in time for
    them); `"extra"`: they run after the search's budget, on top of it.
    """

    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(3, ge=1, le=20)
    seeds: int = Field(3, ge=1, le=20)
    holdout: Literal["auto", "never"] = "auto"
    small_val: int = Field(1000, ge=0)  # a validation split with fewer samples is "small"
    pool: int = Field(1000, ge=1)  # samples each run is scored on when a holdout is added
    paid_by: Literal["reserve", "extra"] = "reserve"

    @property
    def trainings(self) -> int:
        """How many trainings the stage costs at most."""
        return self.top_k * self.seeds


class GoalTerm(BaseModel):
    """One phrase of the goal and what the spec made of it (shown in the printed spec and the report)."""

    model_config = ConfigDict(extra="forbid")

    phrase: str  # as written in the goal, e.g. "small" or "under 20k parameters"
    meaning: str  # e.g. "second objective: parameters (Pareto front)" or "constraint max_params = 20,000"


Objective = Literal["params", "flops"]


class CampaignSpec(BaseModel):
    """What the planner makes of the goal; shown to the person and stored."""

    model_config = ConfigDict(extra="forbid")

    goal: str
    task: str = "mnist1d"  # "mnist1d" | "npz:PATH" | "table:PATH"
    metric: str = "accuracy"
    direction: Literal["max", "min"] = "max"
    target: float | None = None  # e.g. 0.96: a score the person hopes to beat
    constraints: Constraints = Field(default_factory=Constraints)
    budget: Budget = Field(default_factory=Budget)
    strategy: Strategy = "agentic"
    seed: int = 0
    seed_archs: list[str] = Field(default_factory=lambda: ["mlp", "mnist1d_cnn"])
    model: str = "mock"
    notes: list[str] = Field(default_factory=list)
    # Second objectives to minimise beside accuracy (a Pareto front in the report; the best is
    # still chosen by validation accuracy, ties going to the smaller model). Set from goal
    # words such as "small" or "fast"; see `goal_terms`.
    objectives: list[Objective] = Field(default_factory=list)
    goal_terms: list[GoalTerm] = Field(default_factory=list)  # what each phrase of the goal became
    # None: no confirmation stage (a spec written by hand or by code); the planner always
    # writes one, sized to the budget, or says in a note why there is none.
    confirm: ConfirmSpec | None = None


# ---- the best: one rule, used by every surface (live view, status, report, export, git tag) ----------

BEST_RULE = (
    "confirmed candidates first, by mean validation accuracy over their confirmation seeds; "
    "otherwise by validation accuracy at the highest fidelity trained; "
    "ties go to the fewer parameters, then to the earlier experiment"
)


class Scored(BaseModel):
    """One experiment as the best-picking rule reads it (validation metrics only)."""

    id: str
    arch_hash: str = ""
    result: Result
    confirms: str | None = None  # a confirmation run: the id of the experiment it trains again


class Pick(BaseModel):
    """A candidate as ranked by `rank_candidates`: its own (search) run and, once confirmed,
    the statistics of its confirmation runs. Test figures are carried for the report only."""

    id: str
    arch_hash: str = ""
    val_accuracy: float | None = None  # the search run's
    test_accuracy: float | None = None
    params: int | None = None
    flops: int | None = None
    fidelity: float = 1.0
    confirmed: bool = False
    val_mean: float | None = None  # over the confirmation runs; the search run's value when unconfirmed
    val_std: float | None = None  # sample standard deviation (None below two runs)
    n_seeds: int = 1  # runs behind val_mean
    test_mean: float | None = None
    test_std: float | None = None
    runs: list[str] = Field(default_factory=list)  # successful confirmation runs, in id order
    failed_runs: int = 0
    weights_id: str | None = None  # the run whose trained weights `export` writes (first confirmation run with weights)


def confirmation_source(edit: object) -> str | None:
    """The experiment a confirmation run trains again, from its recorded `edit` (None for anything else)."""
    if isinstance(edit, dict) and edit.get("kind") == "confirm" and isinstance(edit.get("source_id"), str):
        return edit["source_id"]
    return None


def id_order(exp_id: str) -> int:
    """e0012 -> 12 (ids that are not numbered sort last)."""
    digits = exp_id.lstrip("e")
    return int(digits) if digits.isdigit() else 10**12


def search_key(exp_id: str, result: Result) -> tuple[float, float, float, int]:
    """Sort key of one search run, higher is better: fidelity, validation accuracy, fewer parameters,
    earlier id. Its maximum is the best of `rank_candidates` before any confirmation (the live view
    keeps the best incrementally with it)."""
    params = float(result.params) if result.params is not None else float("inf")
    return (result.fidelity, round(result.val_accuracy or 0.0, 10), -params, -id_order(exp_id))


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def rank_candidates(entries: list[Scored]) -> list[Pick]:
    """Every successful search experiment as a candidate, best first, one per structure (`BEST_RULE`).

    Confirmation runs (`confirms` set) are folded into the candidate they train again:
    mean and standard deviation of their validation (and test) accuracy. Only validation
    figures order anything; test accuracy is carried along for the report.
    """
    search = [e for e in entries if e.confirms is None and e.result.ok and e.result.val_accuracy is not None]
    runs: dict[str, list[Scored]] = {}
    failed: dict[str, int] = {}
    for entry in sorted((e for e in entries if e.confirms is not None), key=lambda e: id_order(e.id)):
        source = str(entry.confirms)
        if entry.result.ok and entry.result.val_accuracy is not None:
            runs.setdefault(source, []).append(entry)
        else:
            failed[source] = failed.get(source, 0) + 1
    top = max((e.result.fidelity for e in search), default=1.0)
    picks = []
    for entry in search:
        r, mine = entry.result, runs.get(entry.id, [])
        pick = Pick(id=entry.id, arch_hash=entry.arch_hash, val_accuracy=r.val_accuracy, test_accuracy=r.test_accuracy,
                    params=r.params, flops=r.flops, fidelity=r.fidelity, val_mean=r.val_accuracy, n_seeds=1,
                    test_mean=r.test_accuracy, failed_runs=failed.get(entry.id, 0))
        if mine:
            val_mean, val_std = _stats([float(run.result.val_accuracy or 0.0) for run in mine])
            tests = [float(run.result.test_accuracy) for run in mine if run.result.test_accuracy is not None]
            test_mean, test_std = _stats(tests)
            weights = next((run.id for run in mine if run.result.weights_file), None)
            pick = pick.model_copy(update={"confirmed": True, "val_mean": val_mean, "val_std": val_std,
                                           "n_seeds": len(mine), "test_mean": test_mean, "test_std": test_std,
                                           "runs": [run.id for run in mine], "weights_id": weights})
        picks.append(pick)

    def order(pick: Pick) -> tuple:
        below_top = (not pick.confirmed) and pick.fidelity < top - 1e-9
        params = pick.params if pick.params is not None else float("inf")
        return (not pick.confirmed, below_top, -round(pick.val_mean or 0.0, 10), params, id_order(pick.id))

    ranked, seen = [], set()
    for pick in sorted(picks, key=order):
        if pick.arch_hash and pick.arch_hash in seen:
            continue  # a cached repeat, or a shorter training of the same structure
        seen.add(pick.arch_hash)
        ranked.append(pick)
    return ranked


def pick_best(entries: list[Scored]) -> Pick | None:
    """The best candidate by `BEST_RULE` (None when nothing succeeded)."""
    ranked = rank_candidates(entries)
    return ranked[0] if ranked else None


# ---- model usage (llm/usage.json) -----------------------------------------------------------

class AgentUsage(BaseModel):
    """Model calls and their cost for one agent (planner, coder, evaluator, analyst): the llm room
    keeps these running totals and writes them to `llm/usage.json`; the report reads them back
    (unknown fields ignored, missing ones zero)."""

    model_config = ConfigDict(extra="ignore")

    calls: int = 0  # `ask` calls
    requests: int = 0  # model requests, retries and re-asks included
    retries: int = 0
    reasks: int = 0
    fallbacks: int = 0  # calls that ended with the caller's deterministic fallback
    rejected: int = 0  # answers that were parsed but refused by validation
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    last_prompt_tokens: int = 0  # size of the latest prompt, to keep prompts measured
    structured: int = 0  # requests sent with a JSON schema (`response_format`)
    faults: dict[str, int] = Field(default_factory=dict)  # fault kind (connect, auth, server, ...) -> count

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mean_prompt_tokens(self) -> float:
        """Prompt size per request: the figure to watch when editing a template."""
        return round(self.prompt_tokens / self.requests, 1) if self.requests else 0.0

    @property
    def fault_line(self) -> str:
        """`server 3, rate_limit 1` (kinds that happened, most first), or "" when none did."""
        happened = sorted(((n, kind) for kind, n in self.faults.items() if n), key=lambda p: (-p[0], p[1]))
        return ", ".join(f"{kind} {n}" for n, kind in happened)

    def __add__(self, other: AgentUsage) -> AgentUsage:
        """Two agents' (or campaigns') usage together; the latest prompt size is the larger one."""
        summed = {f: getattr(self, f) + getattr(other, f) for f in AgentUsage.model_fields
                  if f not in ("faults", "last_prompt_tokens")}
        faults = {k: self.faults.get(k, 0) + other.faults.get(k, 0) for k in {**self.faults, **other.faults}}
        return AgentUsage(**summed, faults=faults,
                          last_prompt_tokens=max(self.last_prompt_tokens, other.last_prompt_tokens))


class UsageTotals(BaseModel):
    """All agents' usage in one object: the `llm` of `archlab status --json` (`faults`: every kind,
    0 when none)."""

    calls: int = 0
    retries: int = 0
    reasks: int = 0
    fallbacks: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    structured: int = 0  # requests that carried their answer's JSON schema
    faults: dict[str, int] = Field(default_factory=dict)  # connect, auth, timeout, rate_limit, server, ...
