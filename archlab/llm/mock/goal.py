"""A deterministic goal parser: what the mock model "understands" of a goal (its plan answer).

It covers the forms people write in a one-line goal: task names (mnist1d,
npz:PATH, table:PATH, a bare .npz path), parameter / FLOP / latency limits
("under 20k parameters", "at most 25k params", "< 1M FLOPs", "latency under
2 ms"), a target ("beats 96%"), a budget ("10 minutes", "50 evaluations") and
strategy words. Anything it cannot read is left unset (None), never guessed.
"""

from __future__ import annotations

import random
import re

from archlab.llm.mock.blocks import json_block

_SCALE = {"": 1, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "g": 1e9, "b": 1e9, "billion": 1e9}
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)\s*(k|m|g|b|thousand|million|billion)?"
_LIMIT_WORDS = (
    r"(?:under|below|at\s+most|max(?:imum)?(?:\s+of)?|no\s+more\s+than|not\s+more\s+than|fewer\s+than"
    r"|less\s+than|within|up\s+to|<=?|≤)"
)


def _number(digits: str, scale: str | None) -> float:
    return float(digits.replace(",", "")) * _SCALE[(scale or "").lower()]


def _limit_match(text: str, units: str) -> re.Match[str] | None:
    """`<limit word> N <units>` or `N <units> (max|or less)` or `N-<unit> model`."""
    patterns = [
        rf"{_LIMIT_WORDS}\s*{_NUMBER}\s*{units}",
        rf"{_NUMBER}\s*{units}\s*(?:max(?:imum)?|or\s+(?:less|fewer)|at\s+most|budget|cap|limit)",
        rf"{_NUMBER}[\s-]*{units}\b",
    ]
    return _first_match(patterns, text)


def _first_match(patterns: list[str], text: str) -> re.Match[str] | None:
    """The match of the first pattern that matches `text` (case ignored): earlier patterns are the surer reading."""
    return next((m for m in (re.search(p, text, re.IGNORECASE) for p in patterns) if m), None)


def _limit(text: str, units: str) -> float | None:
    match = _limit_match(text, units)
    return _number(match.group(1), match.group(2)) if match else None


_PARAM_UNITS = r"(?:parameters?|params?|weights)"
_FLOP_UNITS = r"(?:m?flops?|macs)"
# Words that ask for a small or a fast model without a number: a second objective, never an invented cap.
SIZE_WORDS = r"\b(small|smallest|tiny|compact|lightweight|light-weight|little|minimal)\b"
SPEED_WORDS = r"\b(fast|fastest|quick|efficient|cheap|low[\s-]latency)\b"


def goal_phrases(goal: str) -> dict[str, str]:
    """The phrases of the goal behind its limits and preferences, as written (keys: max_params, max_flops,
    max_latency_ms, size, speed); the planner says in the spec what each became."""
    found: dict[str, str] = {}
    for key, match in (("max_params", _limit_match(goal, _PARAM_UNITS)), ("max_flops", _limit_match(goal, _FLOP_UNITS)),
                       ("size", re.search(SIZE_WORDS, goal, re.IGNORECASE)),
                       ("speed", re.search(SPEED_WORDS, goal, re.IGNORECASE))):
        if match:
            found[key] = " ".join(match.group(0).split())
    latency = re.search(r"latency\D{0,20}?\d+(?:\.\d+)?\s*(?:ms|milliseconds?|s|seconds?)\b|"
                        r"\d+(?:\.\d+)?\s*(?:ms|milliseconds?)\s*(?:of\s+)?(?:inference\s+)?latency", goal, re.IGNORECASE)
    if latency:
        found["max_latency_ms"] = " ".join(latency.group(0).split())
    return found


def _task(goal: str) -> str | None:
    explicit = re.search(r"\b((?:npz|table):\S+)", goal)
    if explicit:
        return explicit.group(1).rstrip(".,;)")
    bare = re.search(r"(\S+\.npz)\b", goal)
    if bare:
        return "npz:" + bare.group(1).strip("'\"")
    if re.search(r"mnist[\s_-]?1[\s_-]?d", goal, re.IGNORECASE):
        return "mnist1d"
    return None


def _latency_ms(goal: str) -> float | None:
    unit = r"(ms|milliseconds?|s|seconds?)\b"
    patterns = [
        rf"latency\D{{0,20}}?{_LIMIT_WORDS}\s*(\d+(?:\.\d+)?)\s*{unit}",
        rf"{_LIMIT_WORDS}\s*(\d+(?:\.\d+)?)\s*{unit}\s*(?:of\s+)?(?:inference\s+)?latency",
        rf"latency\s*(?:of\s*)?(\d+(?:\.\d+)?)\s*{unit}",
    ]
    match = _first_match(patterns, goal)
    if match is None:
        return None
    value = float(match.group(1))
    return value * 1000.0 if match.group(2).lower().startswith("s") else value


def _target(goal: str) -> float | None:
    words = r"(?:beats?|beating|above|over|exceed(?:s|ing)?|at\s+least|reach(?:es|ing)?|hit(?:s|ting)?|>=?|≥|target(?:\s+of)?)"
    match = re.search(rf"{words}\s*(\d+(?:\.\d+)?)\s*%", goal, re.IGNORECASE)
    if match:
        return float(match.group(1)) / 100.0
    match = re.search(rf"{words}\s*(0\.\d+)\s*(?:val(?:idation)?\s+|test\s+)?accuracy", goal, re.IGNORECASE)
    return float(match.group(1)) if match else None


def _budget(goal: str) -> tuple[float | None, int | None]:
    minutes = None
    match = re.search(r"(\d+(?:\.\d+)?)\s*(minutes?|mins?|hours?|hrs?|h)\b", goal, re.IGNORECASE)
    if match:
        minutes = float(match.group(1)) * (60.0 if match.group(2).lower().startswith("h") else 1.0)
    evals = None
    match = re.search(r"(\d+)\s*(?:evaluations?|evals?|candidates?|experiments?|trials?|models?)\b", goal, re.IGNORECASE)
    if match:
        evals = int(match.group(1))
    return minutes, evals


def _strategy(goal: str) -> str:
    if re.search(r"\brandom(?:\s+search|\s+baseline|ly)?\b", goal, re.IGNORECASE):
        return "random"
    if re.search(r"evolution|evolutionary|without\s+(?:an?\s+|the\s+)?(?:language\s+)?model|no\s+llm", goal, re.IGNORECASE):
        return "evolution"
    return "agentic"


def _seed_archs(goal: str) -> list[str]:
    task = _task(goal)
    if task and task.startswith("table:"):
        return ["nb201"]  # a lookup table answers only for cells of its space
    mlp = re.search(r"\bmlp\b|perceptron", goal, re.IGNORECASE) is not None
    cnn = re.search(r"\bcnn\b|conv", goal, re.IGNORECASE) is not None
    if mlp and not cnn:
        return ["mlp"]
    if cnn and not mlp:
        return ["mnist1d_cnn"]
    return ["mlp", "mnist1d_cnn"]


def parse_goal(goal: str) -> dict:
    """Return the planner answer fields that the goal text states (None where silent)."""
    minutes, evals = _budget(goal)
    params = _limit(goal, _PARAM_UNITS)
    flops = _limit(goal, r"(?:flops|flop|macs)")
    mflops = _limit(goal, r"(?:mflops|mflop)")
    if flops is None and mflops is not None:
        flops = mflops * 1e6
    minimise_loss = re.search(r"(?:minimi[sz]e|lowest|lower)\s+(?:the\s+)?(?:val(?:idation)?\s+)?loss", goal, re.IGNORECASE)
    return {
        "task": _task(goal),
        "metric": "loss" if minimise_loss else "accuracy",
        "direction": "min" if minimise_loss else "max",
        "target": _target(goal),
        "max_params": int(params) if params is not None else None,
        "max_flops": int(flops) if flops is not None else None,
        "max_latency_ms": _latency_ms(goal),
        "minutes": minutes,
        "max_evals": evals,
        "strategy": _strategy(goal),
        "seed_archs": _seed_archs(goal),
        "notes": ["read by the offline goal parser (mock model)"],
    }


def plan(prompt: str, rng: random.Random) -> dict:
    """The plan answer: the fields the GOAL block's text states."""
    request = json_block(prompt, "GOAL", {}) or {}
    return parse_goal(str(request.get("goal", "")))
