"""The checkpoint in `state.json`: counters, budgets used, how to resume.

The search is deterministic given the recorded results, so its state is not
pickled here: resume replays the recorded experiments through it (see loop.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

RunStatus = Literal["running", "done", "stopped", "failed"]


class CampaignState(BaseModel):
    """Everything a resume needs besides the spec and the experiment folders."""

    campaign: str = ""  # the name records and memory use (kept by replays)
    status: RunStatus = "running"
    stop_reason: str = ""
    lag: int = 1  # = workers at creation; fixes which results each proposal sees
    next_exp: int = 1  # number of the next experiment id (e0001 is 1)
    evaluated: int = 0  # trainings finished (ok or failed), cached excluded
    failed: int = 0
    cached: int = 0
    rejected: int = 0  # constraint violations
    elapsed_s: float = 0.0  # wall time spent over all sessions
    sessions: int = 0
    best_id: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    llm_usage_before: dict[str, Any] = Field(default_factory=dict)  # earlier sessions
    replay_of: str | None = None  # original folder when this is a replay
    error: str = ""
    # The confirmation stage (confirmation.py): "confirm" once the search has ended and the
    # stage began (a resume then skips the search); the search's own stop reason; the
    # ConfirmSpec the stage runs with (the spec's, or `archlab confirm`'s); its one-line outcome.
    phase: Literal["search", "confirm"] = "search"
    search_stop_reason: str = ""
    confirm: dict[str, Any] | None = None
    confirm_note: str = ""
