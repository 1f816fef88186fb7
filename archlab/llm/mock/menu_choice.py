"""The mock's menu choice: a seeded pick from the prompt's MENU, weighted by EVIDENCE, DIRECTION
and PRINCIPLES.

It behaves like a cautious model that learns from the memory: menu entries
similar to past edits that raised validation accuracy are favoured, those like
edits that hurt are avoided, and the direction's favoured kinds get a bonus.
The design principles retrieved for the task (the knowledge room's library) say
which kinds of move tend to work, preferred first: an entry of a kind they
recommend weighs up to `PRIOR + 1` times as much, in their order (principles.py),
and the evidence still overrides them (an edit like one that hurt is avoided
whatever the principles say). Free parameters are drawn from their domains,
reusing a value that helped before when it is still legal.
"""

from __future__ import annotations

import math
import random
import re
from functools import lru_cache

from archlab.llm.mock.blocks import json_block
from archlab.llm.mock.menu_lines import parse_menu
from archlab.llm.mock.principles import Recommendation, recommendations, support

_WORD = re.compile(r"[a-z_]+[0-9]*d?")
_LETTERS = re.compile(r"[a-z]+")
# How much a principle's first recommendation multiplies an entry's weight (minus one): strong
# enough that a model told "a conv front first" mostly takes it, weak enough that evidence of
# edits like it hurting (a factor down to e^-4) still turns it away.
PRIOR = 6.0


def _words(text: str) -> frozenset[str]:
    return _words_of(text)


def _entry_text(entry: dict) -> str:
    fixed = " ".join(f"{k} {v}" for k, v in (entry.get("fixed") or {}).items())
    return f"{entry.get('kind', '')} {entry.get('path', '')} {fixed}"


def _similarity(entry: dict, evidence: dict) -> float:
    """1 for the same kind and overlapping description, down to 0 for nothing shared."""
    return _similarity_of(entry.get("kind") == evidence.get("kind"), _entry_text(entry), str(evidence.get("edit", "")))


def _in_domain(value, domain) -> bool:
    if isinstance(domain, list):
        return value in domain
    kind = domain.get("type")
    if kind == "choice" or domain.get("values"):
        return value in (domain.get("values") or [])
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    if kind == "int" and not float(value).is_integer():
        return False
    low, high = domain.get("low"), domain.get("high")
    return (low is None or value >= low) and (high is None or value <= high)


def _sample(domain, rng: random.Random):
    values = domain if isinstance(domain, list) else domain.get("values")
    if values:
        return rng.choice(values)
    low, high = domain.get("low"), domain.get("high")
    if domain.get("type") == "int":
        return rng.randint(int(low if low is not None else 0), int(high if high is not None else 8))
    low = float(low if low is not None else 0.0)
    high = float(high if high is not None else 1.0)
    return round(rng.uniform(low, high), 4)


def _subject(entry: dict) -> set[str]:
    """What an entry acts on, as words (its op and parameter: `conv`, `out`, `channels`)."""
    fixed = entry.get("fixed") or {}
    return set(_LETTERS.findall(f"{fixed.get('op') or ''} {fixed.get('param') or ''}".lower()))


def _principled(menu: list[dict], recs: list[Recommendation]) -> list[float]:
    """Each entry's factor from the principles; all 1.0 when they do not tell the entries apart."""
    factors = [1.0 + PRIOR * support(str(entry.get("kind")), _subject(entry), recs)[0] for entry in menu]
    return factors if len(set(factors)) > 1 else [1.0] * len(menu)


def _weights(menu: list[dict], evidence: list[dict], direction: dict,
             recs: list[Recommendation] | None = None) -> list[float]:
    favour = set(direction.get("favour_kinds") or [])
    avoid = set(direction.get("avoid_kinds") or [])
    favour_ops = set(direction.get("favour_ops") or [])
    pulls = _pulls(evidence)
    weights = []
    for entry in menu:
        kind, text = entry.get("kind"), _entry_text(entry)  # once per entry, not per (entry, item)
        score = 0.0
        for item_kind, edit, pull in pulls:
            score += _similarity_of(kind == item_kind, text, edit) * pull * 25.0
        weight = math.exp(max(-4.0, min(4.0, score)))
        if kind in favour:
            weight *= 3.0
        if kind in avoid:
            weight *= 0.3
        if favour_ops & _words(text):
            weight *= 2.0
        weight *= _capacity(entry)
        weights.append(weight)
    factors = _principled(menu, recs or [])
    if any(f != 1.0 for f in factors):  # otherwise untouched: the same draws as a prompt without principles
        weights = [w * f for w, f in zip(weights, factors)]
    return weights


def _pulls(evidence: list[dict]) -> list[tuple[object, str, float]]:
    """Each evidence item as (kind, edit text, its clamped change of val accuracy): what `_weights`
    reads of it for every menu entry, computed once per item (the same values, so the same sums)."""
    children = sorted(float(i["child_val_accuracy"]) for i in evidence if i.get("child_val_accuracy") is not None)
    typical = children[len(children) // 2] if children else None
    pulls = []
    for item in evidence:
        child = item.get("child_val_accuracy")
        parent = item.get("parent_val_accuracy", typical)
        parent = typical if parent is None else parent
        if child is None:
            delta = -0.05  # a failed child counts against edits like it
        else:
            delta = float(child) - float(parent)  # without a parent: against the typical result
        pulls.append((item.get("kind"), str(item.get("edit", "")), max(-0.2, min(0.2, delta))))
    return pulls


_WIDTH_KEYS = ("out_channels", "out_features", "hidden")


def _capacity(entry: dict) -> float:
    """A mild lean to wider entries (sqrt of the width against 16): the backbone's menus are
    already within the caps, and a model asked for accuracy spends the parameters it may."""
    fixed = entry.get("fixed") or {}
    width = next((fixed[k] for k in _WIDTH_KEYS if isinstance(fixed.get(k), (int, float))), None)
    return 1.0 if width is None or width <= 0 else math.sqrt(float(width) / 16.0)


def _fill(entry: dict, evidence: list[dict], rng: random.Random) -> dict:
    helpful = [
        item.get("params") or {}
        for item in evidence
        if item.get("kind") == entry.get("kind")
        and item.get("child_val_accuracy") is not None
        and item.get("parent_val_accuracy") is not None
        and item["child_val_accuracy"] > item["parent_val_accuracy"]
    ]
    params = {}
    for name, domain in sorted((entry.get("free") or {}).items()):
        reuse = [p[name] for p in helpful if name in p and _in_domain(p[name], domain)]
        params[name] = rng.choice(reuse) if reuse and rng.random() < 0.5 else _sample(domain, rng)
    return params


def answer(prompt: str, rng: random.Random) -> dict:
    menu = json_block(prompt, "MENU") or parse_menu(prompt)  # the v1 JSON block, else the compact lines
    evidence = json_block(prompt, "EVIDENCE", []) or []
    direction = json_block(prompt, "DIRECTION", {}) or {}
    if not menu:
        return {"choice": "", "params": {}, "rationale": "the prompt holds no menu"}
    recs = recommendations(prompt)
    entry = rng.choices(menu, weights=_weights(menu, evidence, direction, recs), k=1)[0]
    similar = sorted(evidence, key=lambda item: -_similarity(entry, item))[:1]
    if similar and similar[0].get("child_val_accuracy") is not None and similar[0].get("parent_val_accuracy") is not None:
        delta = similar[0]["child_val_accuracy"] - similar[0]["parent_val_accuracy"]
        reason = f"closest past edit ({similar[0].get('edit', '?')}) changed val accuracy by {delta:+.3f}"
    else:
        reason = "no close evidence; exploring"
    if entry.get("kind") in set(direction.get("favour_kinds") or []):
        reason += f"; the direction favours {entry['kind']}"
    strength, why = support(str(entry.get("kind")), _subject(entry), recs)
    if why is not None and len(set(_principled(menu, recs))) > 1:
        reason += f"; principle {why.principle} recommends {why.kind}" + ("" if strength >= why.strength else
                                                                         " (on another part of the network)")
    return {"choice": entry["id"], "params": _fill(entry, evidence, rng), "rationale": reason}


# ---- caches: pure functions of their text, so the choices are the ones computed afresh ----------
# A campaign's prompts repeat the same menu lines and evidence edits step after step; the
# similarity of every (entry, evidence) pair was recomputed (regex and set algebra) each time.


@lru_cache(maxsize=8192)
def _words_of(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


@lru_cache(maxsize=65536)
def _similarity_of(same_kind: bool, entry_text: str, evidence_edit: str) -> float:
    a, b = _words_of(entry_text), _words_of(evidence_edit)
    overlap = len(a & b) / max(1, len(a | b))
    return 0.6 * (1.0 if same_kind else 0.0) + 0.4 * overlap
