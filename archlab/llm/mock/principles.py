"""The mock's reading of a prompt's PRINCIPLES section: which kinds of move the design priors
retrieved for this task recommend, and how strongly.

The section (written by archlab/agents/principle_format.py) is one line per principle,
nearest to the goal first, its edits preferred first:

    PRINCIPLES (...):
    P1 conv-front: stem (a conv stage before the flatten, pooled, ...); deepen (another conv stage ...)
    P2 downsample-before-widening: downsample (a max or average pool before the flatten); widen (...)

A principle ranked r (0 = nearest) recommends its j-th edit (0 = preferred) with strength
1 / (1 + r + j): earlier principles and earlier edits weigh more, as a reader who takes the
library's order seriously would weigh them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADER = re.compile(r"^PRINCIPLES\b[^\n]*\n", re.MULTILINE)
_LINE = re.compile(r"^P(\d+) ([\w.-]+): (.+)$")
_EDIT = re.compile(r"([a-z_]+)(?: \(([^()]*)\))?(?:; |$)")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Recommendation:
    """One edit a principle recommends: its kind, the words saying what it does, and its strength."""

    principle: str
    kind: str
    words: frozenset[str]
    strength: float


def section_span(prompt: str) -> tuple[int, int] | None:
    """Where the PRINCIPLES section is (its header to the blank line after it), or None."""
    header = _HEADER.search(prompt)
    if header is None:
        return None
    end = prompt.find("\n\n", header.end())
    return header.start(), (len(prompt) if end < 0 else end + 2)


def recommendations(prompt: str) -> list[Recommendation]:
    """Every (principle, edit) the section recommends, strongest first (none without a section)."""
    span = section_span(prompt)
    if span is None:
        return []
    out = []
    lines = [_LINE.match(line) for line in prompt[span[0]:span[1]].splitlines()[1:]]
    for rank, match in enumerate(m for m in lines if m is not None):
        for place, edit in enumerate(_EDIT.finditer(match.group(3))):
            words = frozenset(_WORD.findall((edit.group(2) or "").lower()))
            out.append(Recommendation(match.group(2), edit.group(1), words, 1.0 / (1 + rank + place)))
    return sorted(out, key=lambda r: -r.strength)


def support(kind: str, words: set[str], recs: list[Recommendation]) -> tuple[float, Recommendation | None]:
    """How strongly the principles recommend an entry of `kind` described by `words`: the strongest
    recommendation of its kind, in full when the edit's description names what the entry acts on
    (its op or parameter), else half (the right kind of move on another part of the network)."""
    best, why = 0.0, None
    for rec in recs:
        if rec.kind != kind:
            continue
        value = rec.strength * (1.0 if rec.words & words else 0.5)
        if value > best:
            best, why = value, rec
    return best, why
