"""Imports point one way: cli -> campaign -> agents/search/sandbox/knowledge -> tools.

Every module's imports are read from its source (ast: top level, inside functions and
under TYPE_CHECKING alike) and checked against the room table of DESIGN.md and
docs/CONTRACTS.md. Every room may import `archlab.records` and `archlab.errors`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "archlab"
SHARED = {"records", "errors"}
ALLOWED: dict[str, set[str]] = {
    "records": set(),
    "errors": set(),
    "tools": set(),
    "llm": set(),
    "prompts": set(),
    "sandbox": {"tools"},
    "knowledge": {"tools"},
    "search": {"tools"},
    "agents": {"tools", "knowledge", "llm", "prompts"},
    "report": {"knowledge"},
    "campaign": {"agents", "search", "sandbox", "knowledge", "llm", "prompts", "tools", "report"},
    "cli": {"campaign", "report"},
    "__main__": {"cli"},
    "__init__": set(),
}


def room_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def archlab_imports(path: Path) -> list[tuple[int, str]]:
    """(line, room) of every `archlab.<room>` a module imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "archlab":  # `from archlab import tools`
                names = [f"archlab.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "<relative>"))
        found += [(node.lineno, name.split(".")[1]) for name in names
                  if name.startswith("archlab.") and len(name.split(".")) > 1]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_room_is_in_the_table():
    assert {room_of(p) for p in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path):
    room = room_of(path)
    allowed = ALLOWED[room] | SHARED | {room}
    wrong = [f"line {line}: archlab.{target}" for line, target in archlab_imports(path) if target not in allowed]
    assert not wrong, f"{path.relative_to(PACKAGE)} ({room}) may import only {sorted(allowed)}: {wrong}"


def test_the_rule_catches_an_upward_import(tmp_path: Path):
    """The checker itself: a tools module importing the campaign is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from archlab.campaign import run_campaign\n    import archlab.search.factory\n"
                   "from archlab import agents, records\n", encoding="utf-8")
    assert sorted(room for _, room in archlab_imports(bad)) == ["agents", "campaign", "records", "search"]
    assert {"campaign", "search", "agents"}.isdisjoint(ALLOWED["tools"] | SHARED)
