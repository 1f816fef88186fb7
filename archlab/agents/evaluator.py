"""The evaluator: how much budget a candidate gets, and which results look suspicious.

`plan_fidelity` asks the model (proxy screen, short budget, promotion to full);
its fallback is the safe choice: train at the highest fidelity, screen nothing.
`flags` is plain arithmetic on the numbers, on purpose: a check for a diverged
or too-good result must not depend on a model having a good day.
"""

from __future__ import annotations

import math

from archlab.agents.base import Agent, fallback_reason
from archlab.agents.schemas import FidelityAnswer, FidelityContext, FidelityDecision
from archlab.llm import schema_of
from archlab.records import Result

GAP_LIMIT = 0.10  # train minus val accuracy above this: overfitting
JUMP_LIMIT = 0.15  # val accuracy gain over the parent above this: check before trusting
DIVERGE_RATIO = 2.0  # final train loss this many times its minimum: training blew up


def fidelity_schema(levels: list[float]) -> dict:
    """The fidelity answer's schema with `fidelity` one of the levels allowed here."""
    schema = schema_of(FidelityAnswer)
    schema["properties"]["fidelity"] = {"enum": list(levels)}
    return schema


class Evaluator(Agent):
    name = "evaluator"

    def plan_fidelity(self, context: FidelityContext | dict, fallback: FidelityDecision | None = None,
                      step: str | None = None) -> FidelityDecision:
        ctx = context if isinstance(context, FidelityContext) else FidelityContext.model_validate(context)
        levels = sorted(set(ctx.fidelities)) or [1.0]
        safe = fallback or FidelityDecision(fidelity=levels[-1], reason="fallback: full budget", source="fallback")

        def check(answer: FidelityAnswer) -> None:
            if not answer.screen_out and not any(math.isclose(answer.fidelity, f) for f in levels):
                raise ValueError(f"fidelity {answer.fidelity} is not one of {levels}")

        step = step or f"fidelity-{ctx.exp_id or 'candidate'}{'-promote' if ctx.short_val_accuracy is not None else ''}"
        answer = self._ask("evaluator-fidelity", step, FidelityAnswer, {"candidate": ctx.model_dump()}, check=check,
                           json_schema=fidelity_schema(levels))
        if answer.value is None:
            return safe.model_copy(update={"reason": f"{safe.reason} ({fallback_reason(answer)})", "source": "fallback"})
        value = answer.value
        if value.screen_out and ctx.short_val_accuracy is not None:
            value = value.model_copy(update={"screen_out": False})  # a trained result is never screened out
        return FidelityDecision(**value.model_dump(), source="model")

    @staticmethod
    def flags(result: Result, parent: Result | None = None) -> list[str]:
        """One line per suspicious sign: train/val gap, divergence, a too-good jump."""
        found: list[str] = []
        if result.failure == "diverged":
            found.append("diverged: training loss became NaN/inf")
        curve = [p.train_loss for p in result.curve if p.train_loss is not None]
        finite = [x for x in curve if math.isfinite(x)]
        if curve and len(finite) < len(curve) and result.failure != "diverged":
            found.append("diverged: non-finite training loss in the learning curve")
        elif len(finite) >= 3 and min(finite) > 0 and finite[-1] > DIVERGE_RATIO * min(finite):
            found.append(f"diverging: final train loss {finite[-1]:.3g} is {finite[-1] / min(finite):.1f}x its minimum {min(finite):.3g}")
        if result.val_loss is not None and not math.isfinite(result.val_loss):
            found.append("diverged: validation loss is not finite")
        if result.train_accuracy is not None and result.val_accuracy is not None:
            gap = result.train_accuracy - result.val_accuracy
            if gap > GAP_LIMIT:
                found.append(f"overfitting: train accuracy {result.train_accuracy:.3f} vs val {result.val_accuracy:.3f} (gap {gap:.3f})")
        if parent is not None and parent.val_accuracy is not None and result.val_accuracy is not None:
            jump = result.val_accuracy - parent.val_accuracy
            if jump > JUMP_LIMIT:
                found.append(f"suspicious jump: val accuracy {parent.val_accuracy:.3f} -> {result.val_accuracy:.3f} (+{jump:.3f}) in one edit")
        return found
