"""Token and cost accounting per agent, and the campaign's spend cap.

The campaign writes `UsageReport.model_dump_json()` to `llm/usage.json`; the
CLI's `status --json` reads `UsageReport.totals()`. The ledger is shared by the
agent threads of one campaign, so it guards its counters with a lock.
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel, Field

from archlab.llm.errors import FAULT_KINDS, SpendExceeded
from archlab.records import AgentUsage, UsageTotals


class SpendCap(BaseModel):
    """Stop making new calls once either limit is reached (None: no limit)."""

    max_tokens: int | None = None
    max_cost_usd: float | None = None


class CallUsage(BaseModel):
    """What one `ask` cost: every attempt, re-ask and token it took."""

    attempts: int = 0  # HTTP (or mock) requests made, retries included
    retries: int = 0  # transport failures that were retried
    reasks: int = 0  # answers that failed validation and were asked again
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    structured: int = 0  # requests sent with a JSON schema (`response_format`)
    faults: dict[str, int] = Field(default_factory=dict)  # fault kind -> count (errors.FAULT_KINDS)
    errors: list[str] = Field(default_factory=list)  # one line each, in order

    def fault(self, kind: str, count: int = 1) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + count


class UsageReport(BaseModel):
    """Serialisable snapshot of the ledger (the content of `llm/usage.json`)."""

    model: str
    agents: dict[str, AgentUsage] = Field(default_factory=dict)

    def totals(self) -> dict[str, Any]:
        """The `llm` object of `archlab status --json`: counts, and `faults` by kind (every kind)."""
        rows = list(self.agents.values())
        return UsageTotals(
            calls=sum(r.calls for r in rows), retries=sum(r.retries for r in rows),
            reasks=sum(r.reasks for r in rows), fallbacks=sum(r.fallbacks for r in rows),
            tokens=sum(r.tokens for r in rows), cost_usd=round(sum(r.cost_usd for r in rows), 6),
            structured=sum(r.structured for r in rows), faults=self.faults(),
        ).model_dump()

    def faults(self) -> dict[str, int]:
        """Fault counts by kind over all agents, every kind listed (0 when none)."""
        out = dict.fromkeys(FAULT_KINDS, 0)
        for row in self.agents.values():
            for kind, count in row.faults.items():
                out[kind] = out.get(kind, 0) + count
        return out


class UsageLedger:
    """Thread-safe per-agent totals with the spend cap check."""

    def __init__(self, model: str, cap: SpendCap | None = None) -> None:
        self._report = UsageReport(model=model)
        self._cap = cap or SpendCap()
        self._lock = threading.Lock()

    def check_cap(self, agent: str, step: str) -> None:
        """Raise `SpendExceeded` before a new call once the cap is reached."""
        with self._lock:
            totals = self._report.totals()
        cap = self._cap
        if cap.max_tokens is not None and totals["tokens"] >= cap.max_tokens:
            raise SpendExceeded(
                f"model spend cap reached: {totals['tokens']} tokens >= {cap.max_tokens}"
                f" (no call made for {agent} at {step})"
            )
        if cap.max_cost_usd is not None and totals["cost_usd"] >= cap.max_cost_usd:
            raise SpendExceeded(
                f"model spend cap reached: ${totals['cost_usd']:.4f} >= ${cap.max_cost_usd:.4f}"
                f" (no call made for {agent} at {step})"
            )

    def add(self, agent: str, call: CallUsage, *, fallback: bool, rejected: int, last_prompt: int,
            completed: bool = True) -> None:
        """Count one `ask` (`completed=False`: its requests and faults only, the call never ended)."""
        with self._lock:
            row = self._report.agents.setdefault(agent, AgentUsage())
            row.calls += int(completed)
            row.requests += call.attempts
            row.retries += call.retries
            row.reasks += call.reasks
            row.fallbacks += int(fallback)
            row.rejected += rejected
            row.prompt_tokens += call.prompt_tokens
            row.completion_tokens += call.completion_tokens
            row.cost_usd += call.cost_usd
            row.structured += call.structured
            for kind, count in call.faults.items():
                row.faults[kind] = row.faults.get(kind, 0) + count
            row.last_prompt_tokens = last_prompt

    def snapshot(self) -> UsageReport:
        with self._lock:
            return self._report.model_copy(deep=True)

    def restore(self, report: UsageReport) -> None:
        """Carry totals over on resume, so the cap counts the whole campaign."""
        with self._lock:
            self._report = report.model_copy(deep=True)
