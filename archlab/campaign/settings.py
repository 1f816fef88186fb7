"""How a campaign runs (as opposed to *what* it searches, which is the spec).

Settings never change decisions except `workers`, which fixes the lag of the
deterministic pipeline, and `coder` (who picks from the agentic menu); all of them
are stored in `state.json` and reused on resume and replay.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class LeaderboardRow(BaseModel):
    """One line of the live leaderboard (validation metrics only)."""

    id: str
    val_accuracy: float | None
    params: int | None
    edit: str = ""
    fidelity: float = 1.0  # a full-fidelity row outranks a shorter one (like with like)


class ProgressEvent(BaseModel):
    """What the live view shows after every step of the loop."""

    message: str  # one log line, e.g. "e0007 ok val 91.2% (12,345 params)"
    done: int  # experiments written (trained, cached or rejected)
    evaluated: int  # trainings that finished (ok or failed), cached ones excluded
    in_flight: int
    failed: int
    cached: int
    rejected: int  # constraint violations, never trained
    best_id: str | None = None
    best_val: float | None = None
    budget_fraction: float = 0.0  # 0..1 of the first budget that will stop the run
    budget_label: str = ""
    elapsed_s: float = 0.0
    leaderboard: list[LeaderboardRow] = Field(default_factory=list)


ProgressCallback = Callable[[ProgressEvent], None]
NoticeCallback = Callable[[str], None]  # one line for the person (e.g. "waiting for the memory folder")


class CampaignSettings(BaseModel):
    """Where and how to run: executor, memory, caches, model endpoint, refreshes."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    workers: int = Field(default=2, ge=1)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    unsafe_sandbox: bool = False  # run model-written code even where the OS jail is unavailable (weaker walls)
    memory_dir: Path | None = None  # None: DIR/index (the campaign's own memory)
    chroma_url: str | None = None
    embedder: Literal["minilm", "hashing"] = "minilm"  # tests use "hashing"
    cache_dir: Path | None = None  # datasets; None: $ARCHLAB_CACHE or ~/.cache/archlab
    api_base: str | None = None
    structured: Literal["auto", "on", "off"] = "auto"  # answers' JSON schema as response_format (llm room)
    allow_fallback: bool = False  # a dead model endpoint: run on the search's own choices instead of stopping
    unreachable_after: int = Field(default=3, ge=1)  # that many failed first requests prove the endpoint dead
    memory_wait_s: float | None = Field(default=None, ge=0)  # wait for a busy memory folder (None: no limit)
    lightweight: bool = False  # no git commit and no analyst per experiment
    report_every_s: float = 60.0  # refresh report.md/html at most this often
    write_report: bool = True  # False: no report.md/html at all (tests of the loop alone)
    recipe_overrides: dict[str, Any] = Field(default_factory=dict)  # e.g. {"steps": 60}
    eval_time_s: float = 300.0  # wall-clock limit of one evaluation
    eval_memory_mb: int = 4096
    grace_s: float = 60.0  # how long in-flight work may finish after a time budget
    fidelities: list[float] = Field(default_factory=lambda: [0.5, 1.0])  # the evaluator picks one
    promote_top_k: int = Field(default=3, ge=0)  # promote at most the top k of a low-fidelity rung (0: never)
    promote_eta: int = Field(default=3, ge=1)  # ... and only its top 1/eta (ASHA): needs eta results first
    write_modules: bool = True  # agentic: the coder writes new modules, mined into ops in the sandbox
    module_every: int = Field(default=16, ge=1)  # ask for one every N proposals (the first right after the seeds)
    module_time_s: float = Field(default=60.0, gt=0)  # wall-clock limit of one compile check + mining
    direction_every: int = 8  # the planner sets a direction every N proposals
    # Agentic: who picks the edit from the search's menu. "random": a seeded uniform draw among the
    # entries the coder would be shown (values sampled), everything else equal, to measure what
    # the model's choice adds (benchmarks/bench_campaign.py).
    coder: Literal["model", "random"] = "model"
    stall_limit: int = 200  # stop if this many proposals in a row train nothing
    progress: ProgressCallback | None = Field(default=None, exclude=True)
    notice: NoticeCallback | None = Field(default=None, exclude=True)  # None: the rooms' own warnings

    def resolved_cache_dir(self) -> Path:
        """The dataset cache: the one given, else the sandbox's default (ARCHLAB_CACHE or ~/.cache)."""
        from archlab.sandbox.tasks import default_cache_dir

        return self.cache_dir or default_cache_dir()

    def stored(self) -> dict[str, Any]:
        """The part kept in state.json so resume runs the same way."""
        return self.model_dump(mode="json", exclude={"progress", "notice"})
