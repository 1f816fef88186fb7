"""Draw an architecture tree (Node(op, params, children) JSON) as a text diagram.

A box-drawing outline (like the `tree` command) reads well in both Markdown and
HTML, needs no image, and shows every parameter; it is written here because no
library draws this generic JSON shape.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from pydantic import BaseModel


def find_root(arch: dict[str, Any] | None) -> dict[str, Any] | None:
    """The root Node of an Arch dict, whether it is the Arch itself or under a key."""
    if not isinstance(arch, dict):
        return None
    if "op" in arch:
        return arch
    for key in ("root", "tree", "body", "node"):
        value = arch.get(key)
        if isinstance(value, dict) and "op" in value:
            return value
    return None


def node_label(node: dict[str, Any]) -> str:
    """`conv1d(out_channels=32, kernel_size=5)`: the op and its parameters."""
    params = node.get("params") or {}
    shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
    return f"{node.get('op', '?')}({shown})" if shown else str(node.get("op", "?"))


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def tree_diagram(arch: dict[str, Any] | None) -> str:
    """The whole tree as a box-drawing outline, mined ops listed underneath."""
    root = find_root(arch)
    if root is None:
        return "(architecture not recorded)"
    lines = [node_label(root)]
    _draw_children(root, "", lines)
    mined = (arch or {}).get("mined") or {}
    if mined:
        lines.append("")
        lines.append("mined ops: " + ", ".join(sorted(mined)))
    return "\n".join(lines)


def _draw_children(node: dict[str, Any], prefix: str, lines: list[str]) -> None:
    children = [c for c in node.get("children") or [] if isinstance(c, dict)]
    for index, child in enumerate(children):
        last = index == len(children) - 1
        lines.append(f"{prefix}{'└── ' if last else '├── '}{node_label(child)}")
        _draw_children(child, prefix + ("    " if last else "│   "), lines)


def tree_stats(arch: dict[str, Any] | None) -> tuple[int, int]:
    """(number of nodes, depth) of the tree; (0, 0) when it is missing."""
    root = find_root(arch)
    if root is None:
        return 0, 0

    def walk(node: dict[str, Any], depth: int) -> tuple[int, int]:
        count, deepest = 1, depth
        for child in node.get("children") or []:
            if isinstance(child, dict):
                c, d = walk(child, depth + 1)
                count, deepest = count + c, max(deepest, d)
        return count, deepest

    return walk(root, 1)


class DiffLine(BaseModel):
    kind: str  # "add" | "del" | "hunk" | "file" | "ctx"
    text: str


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> list[DiffLine]:
    """A unified diff (difflib) as typed lines, so templates can colour them."""
    lines: list[DiffLine] = []
    for raw in difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm=""):
        if raw.startswith(("+++", "---")):
            kind = "file"
        elif raw.startswith("@@"):
            kind = "hunk"
        elif raw.startswith("+"):
            kind = "add"
        elif raw.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append(DiffLine(kind=kind, text=raw))
    return lines
