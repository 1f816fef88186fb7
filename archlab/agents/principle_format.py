"""Design principles as prompt lines: one line per principle, its edits preferred first.

`P1 conv-front: stem (a conv stage before the flatten, ...); deepen (another conv stage ...)`

Compact on purpose (the coder's prompt must stay short): the name says what the principle
is about and each edit is `KIND (what it does)`, KIND a kind of the tools' menu, so a model
can match menu entries to it. The mock model reads the lines back (llm/mock/principles.py).
"""

from __future__ import annotations

from typing import Any


def principle_lines(principles: list[dict[str, Any]] | None) -> list[str]:
    """The prompt lines of `principles` (dicts with `name` and `edits`, as `Memory.principles_for`
    returns them), in their order."""
    lines = []
    for i, principle in enumerate(principles or [], 1):
        edits = "; ".join(" ".join(str(edit).replace(";", ",").split()) for edit in principle.get("edits") or [])
        lines.append(f"P{i} {principle['name']}: {edits}")
    return lines
