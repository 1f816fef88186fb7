"""The best tree is drawn as a readable outline; diffs are typed for colouring."""

from __future__ import annotations

from archlab.report.tree import tree_diagram, tree_stats, unified_diff


def _node(op: str, children: list | None = None, **params) -> dict:
    return {"op": op, "params": params, "children": children or []}


ARCH = {"root": _node("seq", [
    _node("conv1d", out_channels=16, kernel_size=5),
    _node("residual", [_node("seq", [_node("conv1d", out_channels=16, kernel_size=3), _node("relu")])]),
    _node("global_avg_pool"),
]), "mined": {"mined.Gate": {"name": "mined.Gate"}}}


def test_tree_outline_shows_every_node_with_its_parameters() -> None:
    assert tree_diagram(ARCH).splitlines() == [
        "seq",
        "├── conv1d(out_channels=16, kernel_size=5)",
        "├── residual",
        "│   └── seq",
        "│       ├── conv1d(out_channels=16, kernel_size=3)",
        "│       └── relu",
        "└── global_avg_pool",
        "",
        "mined ops: mined.Gate",
    ]
    assert tree_stats(ARCH) == (7, 4)


def test_missing_tree_says_so() -> None:
    assert tree_diagram(None) == "(architecture not recorded)" and tree_stats({"x": 1}) == (0, 0)


def test_diff_lines_are_classified() -> None:
    lines = unified_diff("a\nb\nc\n", "a\nB\nc\n", "old", "new")
    assert [line.kind for line in lines] == ["file", "file", "hunk", "ctx", "del", "add", "ctx"]
