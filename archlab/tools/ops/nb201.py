"""The NAS-Bench-201 cell as an op: `nb201_cell`.

One node stands for the whole NAS-Bench-201 network (Dong & Yang, ICLR 2020):
a 3x3 stem, three stages of `cells_per_stage` copies of the searched cell at
C, 2C and 4C channels joined by residual reduction blocks, then BN-ReLU and
global average pooling; the tree's automatic head adds the final Linear. With
the defaults (C=16, 5 cells per stage) the parameter count equals the
benchmark's own network exactly, so a cell found on the lookup table can be
trained for real.

The cell is a 4-node DAG: node 0 is the input, node j sums `op(node i)` over
the six edges i -> j, node 3 is the output. It is stored as the official
string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, which is also the table key.

`canonical_cell` gives the function a cell computes, so arch_hash merges cells
that are the same network: dead edges (their source never sees the input, or
their target never reaches the output), `none` edges, and the order of the two
inner nodes do not matter. Checked against the table: 15,625 cells, 8,765
classes, and cells of one class agree within the table's seed noise.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import field_validator

from archlab.tools.errors import ArchError

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# Edges in the order of the official string: node 1 <- 0 | node 2 <- 0, 1 | node 3 <- 0, 1, 2.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
CONV_OPS = frozenset({"nor_conv_1x1", "nor_conv_3x3"})


def edge_name(index: int) -> str:
    """`2` -> `1->2`: how people and prompts name an edge."""
    src, dst = EDGES[index]
    return f"{src}->{dst}"


def parse_cell(text: str) -> tuple[str, ...]:
    """Official string -> the six edge ops in EDGES order; ArchError (one line) if malformed."""
    if not isinstance(text, str):
        raise ArchError(f"NB201 cell must be a string, got {type(text).__name__}")
    groups = text.strip().strip("|").split("|+|")
    if len(groups) != 3:
        raise ArchError(f"NB201 cell {text!r}: expected 3 node groups separated by '+'")
    ops: list[str] = []
    for node, group in enumerate(groups, start=1):
        tokens = group.split("|")
        if len(tokens) != node:
            raise ArchError(f"NB201 cell {text!r}: node {node} needs {node} inputs, got {len(tokens)}")
        for source, token in enumerate(tokens):
            op, _, index = token.partition("~")
            if op not in OPS:
                raise ArchError(f"NB201 cell {text!r}: unknown op {op!r} (expected one of {', '.join(OPS)})")
            if index != str(source):
                raise ArchError(f"NB201 cell {text!r}: token {token!r} should read {op}~{source}")
            ops.append(op)
    return tuple(ops)


def format_cell(ops: tuple[str, ...] | list[str]) -> str:
    """The six edge ops (EDGES order) -> official string."""
    if len(ops) != len(EDGES) or any(op not in OPS for op in ops):
        raise ArchError(f"NB201 cell needs 6 ops from {', '.join(OPS)}, got {list(ops)}")
    a = list(ops)
    return f"|{a[0]}~0|+|{a[1]}~0|{a[2]}~1|+|{a[3]}~0|{a[4]}~1|{a[5]}~2|"


def with_edge(text: str, edge: int, op: str) -> str:
    """The cell `text` with edge number `edge` (EDGES order) set to `op`."""
    ops = list(parse_cell(text))
    if not 0 <= edge < len(EDGES):
        raise ArchError(f"NB201 cell has edges 0..5, got {edge}")
    if op not in OPS:
        raise ArchError(f"unknown NB201 op {op!r} (expected one of {', '.join(OPS)})")
    ops[edge] = op
    return format_cell(ops)


@lru_cache(maxsize=32768)  # pure function of a 15,625-value key: caching is free and safe
def canonical_cell(text: str) -> str:
    """The function a cell computes, as a canonical expression string.

    Each node is the sorted multiset of its live terms `op(expr of source)`;
    a node with no live term is zero and so is every op applied to it (none,
    pool and skip of zero are zero; a conv of zero is BN's bias, which the
    benchmark's training treats as zero in effect: the table shows no split).
    Dead edges vanish because node 3's expression only mentions what reaches
    it. Unrolling the DAG into an expression tree loses no sharing here: with
    two inner nodes, two equal sub-expressions can only come from one node.
    An all-zero cell is `zero`.
    """
    ops = parse_cell(text)
    expr: dict[int, str | None] = {0: "x"}
    for node in (1, 2, 3):
        terms = sorted(
            f"{op}({expr[src]})"
            for (src, dst), op in zip(EDGES, ops)
            if dst == node and op != "none" and expr[src] is not None
        )
        expr[node] = "[" + ",".join(terms) + "]" if terms else None
    return expr[3] or "zero"


def live_edges(text: str) -> tuple[bool, ...]:
    """Per edge: does it change the cell's function (reached from input and reaching output)?"""
    ops = parse_cell(text)
    fed = {0}
    for (src, dst), op in zip(EDGES, ops):  # EDGES is in topological order of dst
        if op != "none" and src in fed:
            fed.add(dst)
    reaches = {3}
    for (src, dst), op in sorted(zip(EDGES, ops), key=lambda e: -e[0][0]):
        if op != "none" and dst in reaches:
            reaches.add(src)
    return tuple(op != "none" and src in fed and dst in reaches for (src, dst), op in zip(EDGES, ops))


def all_cells() -> list[str]:
    """Every cell of the space (15,625), in a fixed order."""
    from itertools import product

    return [format_cell(ops) for ops in product(OPS, repeat=len(EDGES))]


def validate_cell_string(value: Any) -> str:
    """Pydantic validator helper: a well-formed official string, normalised."""
    return format_cell(parse_cell(value))


__all__ = [
    "OPS",
    "EDGES",
    "CONV_OPS",
    "edge_name",
    "parse_cell",
    "format_cell",
    "with_edge",
    "canonical_cell",
    "live_edges",
    "all_cells",
    "validate_cell_string",
    "field_validator",
]
