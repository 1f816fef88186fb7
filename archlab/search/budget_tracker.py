"""Budgets: which limit stops a search, and how much of each is used.

Pure: the caller passes in what was spent (evaluations, seconds, tokens,
dollars); the tracker never reads a clock, so decisions replay exactly.
"""

from __future__ import annotations

from pydantic import BaseModel

from archlab.records import Budget


class BudgetUse(BaseModel):
    """What has been spent so far."""

    evals: int = 0
    seconds: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0


class BudgetTracker:
    """The first limit reached wins; `stop_reason` names it in one line."""

    def __init__(self, budget: Budget) -> None:
        for name in ("max_evals", "minutes", "max_tokens", "max_cost_usd"):
            value = getattr(budget, name)
            if value is not None and value <= 0:
                raise ValueError(f"budget {name} must be positive, got {value}")
        self.budget = budget

    def stop_reason(self, use: BudgetUse) -> str | None:
        """None while every limit has room left, else which one stopped the run."""
        b = self.budget
        if b.max_evals is not None and use.evals >= b.max_evals:
            return f"evaluations: {use.evals} of {b.max_evals}"
        if b.minutes is not None and use.seconds >= b.minutes * 60:
            return f"time: {use.seconds / 60:.1f} of {b.minutes:g} minutes"
        if b.max_tokens is not None and use.tokens >= b.max_tokens:
            return f"model tokens: {use.tokens:,} of {b.max_tokens:,}"
        if b.max_cost_usd is not None and use.cost_usd >= b.max_cost_usd:
            return f"model spend: ${use.cost_usd:.4f} of ${b.max_cost_usd:.4f}"
        return None

    def fractions(self, use: BudgetUse) -> dict[str, float]:
        """Share of each set limit already used (0..1 and beyond)."""
        b = self.budget
        spent = {"max_evals": use.evals, "minutes": use.seconds / 60, "max_tokens": use.tokens,
                 "max_cost_usd": use.cost_usd}
        return {name: spent[name] / getattr(b, name) for name in spent if getattr(b, name)}
