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

from pydantic import BaseModel, ConfigDict, Field

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
