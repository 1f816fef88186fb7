"""The checkpoint in `state.json`: counters, budgets used, how to resume, and who is running it.

The search is deterministic given the recorded results, so its state is not
pickled here: resume replays the recorded experiments through it (see loop.py).

A session that is killed (`kill -9`, a crash, a lost machine) cannot write
"stopped", so the state names its owner: the process (pid, host and the
process's start time, which tells a reused pid apart) and its last sign of
life, rewritten every few seconds by the session's heartbeat (stop_clock.py)
together with the wall time spent. A reader that finds `running` with a dead
owner reports `interrupted`, with the time spent up to that last sign of life.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

RunStatus = Literal["running", "done", "stopped", "failed"]
STALE_S = 60.0  # an owner on another host is presumed dead when its heartbeat is this old


class Owner(BaseModel):
    """The process running the campaign now, and its last sign of life (epoch seconds)."""

    pid: int
    host: str
    start: int | None = None  # the process's start time in clock ticks since boot (procfs)
    since: float = 0.0  # when this session started
    beat: float = 0.0  # the heartbeat: the last time the session was seen alive

    @classmethod
    def here(cls) -> Owner:
        """This process, beating now."""
        from archlab.sandbox.procfs import process_start

        now = time.time()
        return cls(pid=os.getpid(), host=socket.gethostname(), start=process_start(os.getpid()), since=now, beat=now)

    def alive(self) -> bool:
        """On this host: the process still runs (same pid and start time). Elsewhere: a recent heartbeat."""
        if self.host != socket.gethostname():
            return time.time() - self.beat < STALE_S
        from archlab.sandbox.procfs import running

        return running(self.pid, self.start)

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


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
    elapsed_s: float = 0.0  # wall time spent over all sessions (up to the last heartbeat)
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
    owner: Owner | None = None  # the session's process; None in folders from before owners were kept

    def interrupted(self) -> bool:
        """`running` on disk, but its owner died without saying so (killed, crashed)."""
        return self.status == "running" and self.owner is not None and not self.owner.alive()

    def live_owner(self) -> Owner | None:
        """The other process running this campaign right now, if any."""
        owner = self.owner
        if self.status != "running" or owner is None or owner.pid == os.getpid() or not owner.alive():
            return None
        return owner


def shown_status(state: CampaignState) -> tuple[str, str]:
    """The status and stop reason a person should see: `interrupted` for a dead owner's `running`."""
    if not state.interrupted():
        return state.status, state.stop_reason
    assert state.owner is not None
    last = datetime.fromtimestamp(state.owner.beat, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "interrupted", (f"its process ({state.owner.describe()}) stopped without finishing; last seen {last}; "
                           "continue with `archlab resume DIR`")
