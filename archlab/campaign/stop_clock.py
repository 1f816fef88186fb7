"""Which budget stops the campaign, and how much of it is used.

Budgets carry over across resumes: wall time spent in earlier sessions is
passed in, evaluations are counted from the recorded experiments, and model
spend from the carried-over usage ledger.
"""

from __future__ import annotations

import time
from typing import Any

from archlab.records import Budget
from archlab.search import BudgetTracker, BudgetUse


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
