"""The mock's analyses and summaries: facts from the numbers in the prompt, nothing invented."""

from __future__ import annotations

import random
from collections import defaultdict

from archlab.llm.mock.blocks import json_block


def _pct(new, old) -> str:
    if new is None or old in (None, 0):
        return "n/a"
    return f"{(new - old) / old * 100:+.0f}%"


def analyze(prompt: str, rng: random.Random) -> dict:
    exp = json_block(prompt, "EXPERIMENT", {}) or {}
    earlier = json_block(prompt, "INSIGHTS", []) or []
    child, parent = exp.get("child") or {}, exp.get("parent") or {}
    name, edit, kind = exp.get("id", "?"), exp.get("edit", "an edit"), exp.get("edit_kind") or "edit"
    if child.get("status") != "ok":
        text = f"{name} ({edit}) failed: {child.get('failure') or 'unknown'}; no metric to compare."
        return {"text": text, "insights": [f"{kind} ({edit}) can fail with {child.get('failure')}"], "verdict": "failed"}
    cv, pv = child.get("val_accuracy"), parent.get("val_accuracy")
    parts = [f"{name} applied {edit}" if exp.get("edit_kind") else f"{name} is {edit}"]
    if cv is not None and pv is not None:
        delta = cv - pv
        verdict = "improved" if delta > 0.002 else "worse" if delta < -0.002 else "neutral"
        parts.append(f"val accuracy {pv:.4f} -> {cv:.4f} ({delta:+.4f})")
    else:
        delta, verdict = None, "neutral"
        if cv is not None:
            parts.append(f"val accuracy {cv:.4f} (no parent to compare)")
    if child.get("params") is not None and parent.get("params") is not None:
        parts.append(f"params {parent['params']} -> {child['params']} ({_pct(child['params'], parent['params'])})")
    elif child.get("params") is not None:
        parts.append(f"params {child['params']}")
    if child.get("latency_ms") is not None and parent.get("latency_ms") is not None:
        parts.append(f"latency {parent['latency_ms']:.3f} -> {child['latency_ms']:.3f} ms")
    insights = []
    if delta is not None:
        effect = "raised" if verdict == "improved" else "lowered" if verdict == "worse" else "did not change"
        insights.append(f"{kind} ({edit}) {effect} val accuracy by {delta:+.4f} at {_pct(child.get('params'), parent.get('params'))} params")
    related = [text for text in earlier if kind in str(text)]
    if related and verdict in ("improved", "worse"):
        positive = any(word in str(related[0]) for word in ("raised", "improved", "helps"))
        agrees = positive == (verdict == "improved")
        parts.append(("agrees with" if agrees else "contradicts") + f" earlier insight: {related[0]}")
    return {"text": "; ".join(parts) + ".", "insights": insights, "verdict": verdict}


def summarize(prompt: str, rng: random.Random) -> dict:
    records = json_block(prompt, "RECORDS", []) or []
    by_kind: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    for row in records:
        kind = row.get("edit_kind") or "seed"
        if row.get("status") != "ok":
            failures[kind] += 1
        elif row.get("delta") is not None:
            by_kind[kind].append(float(row["delta"]))
    insights = []
    for kind, deltas in sorted(by_kind.items(), key=lambda item: -sum(item[1]) / len(item[1])):
        better = sum(d > 0.002 for d in deltas)
        insights.append(f"{kind}: {len(deltas)} tries, {better} raised val accuracy, mean change {sum(deltas) / len(deltas):+.4f}")
    for kind, count in sorted(failures.items()):
        insights.append(f"{kind}: {count} failed evaluation(s)")
    ok = [row for row in records if row.get("status") == "ok" and row.get("val_accuracy") is not None]
    if ok:
        best = max(ok, key=lambda row: row["val_accuracy"])
        insights.append(f"best: {best.get('id')} at val accuracy {best['val_accuracy']:.4f} with {best.get('params')} params")
    return {"insights": insights[:8]}
