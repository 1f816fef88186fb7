"""The mock's research direction: favour edit kinds that raised validation accuracy, avoid
those that repeatedly hurt, keep one unexplored kind in play, name ops the memories mention."""

from __future__ import annotations

import random

from archlab.llm.mock.blocks import json_block

_OP_WORDS = ("conv", "residual", "dilation", "depthwise", "separable", "squeeze", "attention", "norm", "pool", "gelu")


def direction(prompt: str, rng: random.Random) -> dict:
    summary = json_block(prompt, "SUMMARY", {}) or {}
    memories = json_block(prompt, "MEMORIES", []) or []
    stats: dict = summary.get("edit_stats") or {}
    available: list[str] = summary.get("kinds_available") or sorted(stats)
    tried = {kind: row for kind, row in stats.items() if row.get("tried", 0) > 0}
    ranked = sorted(tried, key=lambda kind: (-tried[kind].get("mean_delta", 0.0), kind))
    favour = [kind for kind in ranked if tried[kind].get("mean_delta", 0.0) > 0][:2]
    avoid = [k for k in ranked if tried[k].get("mean_delta", 0.0) < -0.01 and tried[k].get("tried", 0) >= 2]
    unexplored = [kind for kind in available if kind not in tried and kind not in favour]
    if unexplored:
        favour.append(rng.choice(sorted(unexplored)))  # keep exploring what was never tried
    text_blob = " ".join(str(m.get("text", m)) if isinstance(m, dict) else str(m) for m in memories).lower()
    ops = [word for word in _OP_WORDS if word in text_blob][:3]
    parts = []
    if favour:
        parts.append("favour " + ", ".join(favour))
    if avoid:
        parts.append("avoid " + ", ".join(avoid))
    if ops:
        parts.append("memory points at " + ", ".join(ops))
    best = summary.get("best_val_accuracy")
    if best is not None:
        parts.append(f"best val accuracy so far {best:.4f}")
    return {
        "favour_kinds": favour,
        "avoid_kinds": avoid,
        "favour_ops": ops,
        "text": "; ".join(parts) or "explore broadly: no evidence yet",
    }
