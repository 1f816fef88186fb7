"""The mock's fidelity choice: screen by proxy rank, spend the full budget where it can matter."""

from __future__ import annotations

import random

from archlab.llm.mock.blocks import json_block


def fidelity(prompt: str, rng: random.Random) -> dict:
    ctx = json_block(prompt, "CANDIDATE", {}) or {}
    levels = sorted(ctx.get("fidelities") or [1.0])
    low, high = levels[0], levels[-1]
    best = ctx.get("best_val_accuracy")
    parent = ctx.get("parent_val_accuracy")
    short = ctx.get("short_val_accuracy")
    if short is not None:
        if best is None or short >= best - 0.01:
            return {"screen_out": False, "fidelity": high, "promote": True,
                    "reason": f"short-budget val {short:.4f} is within 0.01 of the best: promote to full budget"}
        return {"screen_out": False, "fidelity": low, "promote": False,
                "reason": f"short-budget val {short:.4f} trails the best {best:.4f}: keep the short result"}
    rank = ctx.get("proxy_rank")
    if rank is not None and rank < 0.1:
        return {"screen_out": True, "fidelity": low, "promote": False,
                "reason": f"zero-cost proxy in the bottom 10% (rank {rank:.2f}): screen out"}
    if best is None or (parent is not None and parent >= best - 0.005) or ctx.get("budget_used", 0.0) > 0.7:
        return {"screen_out": False, "fidelity": high, "promote": False,
                "reason": "parent is at the front (or the budget is nearly spent): train at full budget"}
    return {"screen_out": False, "fidelity": low, "promote": False,
            "reason": "parent trails the best: a short budget first, promote if it competes"}
