"""Which budget stops the campaign, how much of it is used, and the session's heartbeat.

Budgets carry over across resumes: wall time spent in earlier sessions is
passed in, evaluations are counted from the recorded experiments, and model
spend from the carried-over usage ledger. The heartbeat keeps the wall time in
`state.json` true to within a few seconds even when the session is killed
between two checkpoints (long trainings, or lightweight runs that checkpoint
rarely), and tells readers that the owner is still alive (state.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from archlab.records import Budget
from archlab.search import BudgetTracker, BudgetUse

if TYPE_CHECKING:
    from archlab.campaign.state import CampaignState

HEARTBEAT_S = 2.0


class StopClock:
    """The first budget reached wins: evaluations, minutes, tokens or dollars."""

    def __init__(self, budget: Budget, spent_s: float = 0.0) -> None:
        self.budget = budget
        self._before = spent_s
        self._start = time.monotonic()
        self._tracker = BudgetTracker(budget)

    def spent_s(self) -> float:
        """Wall time over all sessions of this campaign."""
        return self._before + time.monotonic() - self._start

    def seconds_left(self) -> float | None:
        if self.budget.minutes is None:
            return None
        return self.budget.minutes * 60.0 - self.spent_s()

    def reason(self, submitted: int, usage: dict[str, Any]) -> str:
        """A one-line reason to stop now, or "" to go on (the search room's tracker decides)."""
        use = BudgetUse(evals=submitted, seconds=self.spent_s(), tokens=int(usage.get("tokens", 0)),
                        cost_usd=float(usage.get("cost_usd", 0.0)))
        return self._tracker.stop_reason(use) or ""

    def fraction(self, submitted: int, usage: dict[str, Any]) -> tuple[float, str]:
        """The most-used budget as a fraction in [0, 1], with a label for the bar."""
        b = self.budget
        parts: list[tuple[float, str]] = []
        if b.max_evals:
            parts.append((submitted / b.max_evals, f"{submitted}/{b.max_evals} evals"))
        if b.minutes:
            spent = self.spent_s() / 60.0
            parts.append((spent / b.minutes, f"{spent:.1f}/{b.minutes:g} min"))
        if b.max_tokens:
            tokens = int(usage.get("tokens", 0))
            parts.append((tokens / b.max_tokens, f"{tokens:,}/{b.max_tokens:,} tokens"))
        if b.max_cost_usd:
            cost = float(usage.get("cost_usd", 0.0))
            parts.append((cost / b.max_cost_usd, f"${cost:.3f}/${b.max_cost_usd:.2f}"))
        if not parts:
            return 0.0, ""
        value, label = max(parts, key=lambda p: p[0])
        return min(1.0, max(0.0, value)), label


class Heartbeat:
    """A daemon thread that stamps the owner's `beat` (and, once a clock follows, `elapsed_s`) into
    the shared state and saves it every `interval_s`. `save` must serialise and write under the
    same lock as every other save of that state (`Workspace.save_state` does), so the newest
    stamp always lands last. `stop()` before the session's final save and commit."""

    def __init__(self, state: CampaignState, save: Callable[[CampaignState], None],
                 interval_s: float = HEARTBEAT_S) -> None:
        self.state, self._save, self.interval_s = state, save, interval_s
        self._clock: StopClock | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="archlab-heartbeat", daemon=True)
        self._thread.start()

    def follow(self, clock: StopClock) -> None:
        """From now on the beat also records the wall time this clock has spent."""
        self._clock = clock

    def beat(self) -> None:
        if self.state.owner is not None:
            self.state.owner.beat = time.time()
        if self._clock is not None:
            self.state.elapsed_s = self._clock.spent_s()
        self._save(self.state)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except OSError:  # a full disk or a removed folder must not kill the thread; the next beat retries
                continue

    def stop(self) -> None:
        """No beat after this returns (the last one, if in progress, has finished)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
