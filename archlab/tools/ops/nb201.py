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

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import Field, field_validator

from archlab.tools.errors import ArchError
from archlab.tools.ops.spec import Call, CellSpace, OpSpec, Params, need, need_kind
from archlab.tools.tensors import TensorType

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# Edges in the order of the official string: node 1 <- 0 | node 2 <- 0, 1 | node 3 <- 0, 1, 2.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
CONV_OPS = frozenset({"nor_conv_1x1", "nor_conv_3x3"})


def edge_name(index: int) -> str:
    """`2` -> `1->2`: how people and prompts name an edge."""
    src, dst = EDGES[index]
    return f"{src}->{dst}"


EDGE_NAMES: tuple[str, ...] = tuple(edge_name(i) for i in range(len(EDGES)))  # named once: edits are hot


def parse_cell(text: str) -> tuple[str, ...]:
    """Official string -> the six edge ops in EDGES order; ArchError (one line) if malformed."""
    if not isinstance(text, str):
        raise ArchError(f"NB201 cell must be a string, got {type(text).__name__}")
    return _parse_cell(text)


# Pure functions of a string from a small space: memoising them is safe and makes the
# lookup-table benchmark (hundreds of thousands of edits) several times faster.
@lru_cache(maxsize=65536)
def _parse_cell(text: str) -> tuple[str, ...]:
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


def cell_source(text: str) -> str:
    """The cell as the few lines a person (or a model) reads: what each node sums, dead edges marked.

    The network around the cell is the benchmark's fixed skeleton, so showing its
    hundreds of rendered lines in a prompt would only hide the six choices that matter."""
    ops, live = parse_cell(text), live_edges(text)
    lines = [f"# NAS-Bench-201 cell {format_cell(ops)}",
             "# skeleton (fixed): stem conv 3x3 -> 3 stages x 5 cells at 16/32/64 channels"
             " with residual reductions -> BN-ReLU -> global avg pool -> Linear",
             "def cell(node0):"]
    for dst in (1, 2, 3):
        terms, dead = [], []
        for index, ((src, target), op) in enumerate(zip(EDGES, ops)):
            if target == dst:
                terms.append(f"{op}(node{src})")
                if not live[index] and op != "none":
                    dead.append(f"{op}(node{src})")
        note = f"  # dead, changes nothing: {', '.join(dead)}" if dead else ""
        lines.append(f"    node{dst} = " + " + ".join(terms) + note)
    lines.append("    return node3")
    return "\n".join(lines)


def all_cells() -> list[str]:
    """Every cell of the space (15,625), in a fixed order."""
    from itertools import product

    return [format_cell(ops) for ops in product(OPS, repeat=len(EDGES))]


def validate_cell_string(value: Any) -> str:
    """Pydantic validator helper: a well-formed official string, normalised."""
    if isinstance(value, str):
        return _normalised(value)
    return format_cell(parse_cell(value))


@lru_cache(maxsize=65536)
def _normalised(text: str) -> str:
    return format_cell(parse_cell(text))


# ---- the op ---------------------------------------------------------------------

DEFAULT_CELL = format_cell(("nor_conv_3x3",) * 6)


class Nb201Params(Params):
    """`cell`: the official string; `channels`/`cells_per_stage`: 16/5 is the benchmark's network."""

    cell: str = DEFAULT_CELL
    channels: int = Field(16, ge=1, le=256)
    cells_per_stage: int = Field(5, ge=1, le=16)

    @field_validator("cell", mode="before")
    @classmethod
    def _well_formed(cls, value: Any) -> str:
        try:
            return validate_cell_string(value)
        except ArchError as exc:
            raise ValueError(str(exc)) from None


def _shape(p: Nb201Params, t: TensorType, _child: object = None) -> TensorType:
    need_kind("nb201_cell", t, ("image",))
    need(min(t.spatial) >= 4, f"nb201_cell needs images of at least 4x4 (two stride-2 reductions), got {t}")
    return TensorType("vector", (4 * p.channels,))


def _relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int) -> Call:
    """NB201's ReLU -> Conv (no bias) -> BN, the op behind nor_conv_* and the reduction block."""
    return Call("nn.Sequential", (
        Call("nn.ReLU"),
        Call("nn.Conv2d", (c_in, c_out, kernel), {"stride": stride, "padding": kernel // 2, "bias": False}),
        Call("nn.BatchNorm2d", (c_out,)),
    ))


def _edge_call(op: str, c: int) -> Call | None:
    if op == "none":
        return None
    if op == "skip_connect":
        return Call("nn.Identity")
    if op == "avg_pool_3x3":
        return Call("nn.AvgPool2d", (3,), {"stride": 1, "padding": 1, "count_include_pad": False})
    return _relu_conv_bn(c, c, 1 if op == "nor_conv_1x1" else 3, 1)


def _reduction(c_in: int, c_out: int) -> Call:
    """NB201's ResNet basic block with stride 2: two ReLU-conv-BN, skip = avg-pool + 1x1 conv."""
    body = Call("nn.Sequential", (_relu_conv_bn(c_in, c_out, 3, 2), _relu_conv_bn(c_out, c_out, 3, 1)))
    skip = Call("nn.Sequential", (
        Call("nn.AvgPool2d", (2,), {"stride": 2, "padding": 0}),
        Call("nn.Conv2d", (c_in, c_out, 1), {"stride": 1, "padding": 0, "bias": False}),
    ))
    return Call("Residual", (body, skip))


def _call(p: Nb201Params, t: TensorType, _child: object = None) -> Call:
    ops = parse_cell(p.cell)
    c = p.channels
    layers: list[Call] = [
        Call("nn.Conv2d", (t.channels, c, 3), {"padding": 1, "bias": False}),
        Call("nn.BatchNorm2d", (c,)),
    ]
    for stage, width in enumerate((c, 2 * c, 4 * c)):
        if stage:
            layers.append(_reduction(width // 2, width))
        layers += [Call("NB201Cell", ([_edge_call(op, width) for op in ops],)) for _ in range(p.cells_per_stage)]
    layers += [Call("nn.BatchNorm2d", (4 * c,)), Call("nn.ReLU"), Call("nn.AdaptiveAvgPool2d", (1,)), Call("nn.Flatten")]
    return Call("nn.Sequential", tuple(layers))


def _canonical(params: dict[str, Any], children: list[Any]) -> Any:
    """Hash the cell's function, not its spelling (see `canonical_cell`). `params` come
    validated and default-filled (canonical.py), so they are read as they are."""
    return {
        "op": "nb201_cell",
        "function": canonical_cell(params["cell"]),
        "channels": params["channels"],
        "cells_per_stage": params["cells_per_stage"],
    }


def _cell_edges(path: str, node: Any, p: Nb201Params, t_in: TensorType) -> list[Any]:
    """`cell_edge` edits: every (edge, new op) pair, fully decided.

    24 entries (6 edges x the 4 other ops) rather than 6 with a free op: a menu
    entry then names the op it puts in, which is what a model (or the mock's
    word matching) needs to tell "put a 3x3 conv on 1->2" from "put a pool there".
    """
    # At the root the node's input is the tree's input: the edits can carry it (and be cached).
    shape = tuple(t_in.shape) if path == "root" else None
    return list(_cell_edge_menu(path, p.cell, shape))


@lru_cache(maxsize=65536)  # Edits are frozen pydantic models: sharing them is safe
def _cell_edge_menu(path: str, cell: str, input_shape: tuple[int, ...] | None) -> tuple[Any, ...]:
    from archlab.tools.edits.model import Edit, trusted_model  # edits import the op table: import late

    ops = parse_cell(cell)
    shape = list(input_shape) if input_shape is not None else None
    return tuple(  # values are valid by construction: skip pydantic's checks (menus are hot)
        trusted_model(Edit, kind="cell_edge", path=path, fixed={"op": op, "edge": edge_name(i)}, free={},
                      input_shape=shape)
        for i in range(len(EDGES))
        for op in OPS
        if op != ops[i]
    )


def _apply_cell_edge(node: Any, edit: Any) -> Any:
    """The node with one edge's op replaced; ArchError (one line) on a bad edge or op."""
    if edit.kind != "cell_edge":
        raise ArchError(f"nb201_cell has no {edit.kind} edit")
    params = _with_edge_op(node.params, edit.fixed.get("edge"), edit.fixed.get("op"))
    return node.model_copy(update={"params": params})


def _with_edge_op(params: Mapping[str, Any], edge: Any, op: Any) -> dict[str, Any]:
    """`params` with edge `edge` (a name) set to `op`; ArchError (one line) on a bad edge or
    op, or when the edge is `op` already."""
    if edge not in EDGE_NAMES:
        raise ArchError(f"cell_edge edge must be one of {', '.join(EDGE_NAMES)}, got {edge!r}")
    before = validate_cell_string(params.get("cell", DEFAULT_CELL))
    cell = with_edge(before, EDGE_NAMES.index(edge), op)
    if cell == before:
        raise ArchError(f"cell_edge {edge} is already {op}")
    return {**params, "cell": cell}


def _live_ops(params: Any) -> tuple[str, ...]:
    """The ops on the edges that change what the cell computes."""
    cell = params.get("cell", DEFAULT_CELL)
    return tuple(op for op, alive in zip(parse_cell(cell), live_edges(cell)) if alive)


def _cell_prompt(params: Any) -> str:
    return cell_source(params.get("cell", DEFAULT_CELL))


# Descriptor families of the edge ops ("none" is never live).
CELL_FAMILY = {"nor_conv_3x3": "conv3x3", "nor_conv_1x1": "conv1x1", "avg_pool_3x3": "pool", "skip_connect": "skip"}

NB201_SPACE = CellSpace(
    op="nb201_cell", edit_kind="cell_edge", slot_param="edge", choice_param="op",
    slots=tuple(edge_name(i) for i in range(len(EDGES))), choices=OPS, families=CELL_FAMILY,
    live_choices=_live_ops, prompt_text=_cell_prompt, with_choice=_with_edge_op, seed_hint="nb201 or nb201:CELL",
)

NB201_CELL = OpSpec(
    name="nb201_cell",
    family="cell",
    params=Nb201Params,
    shape=_shape,
    call=_call,
    canonical=_canonical,
    extra_edits=_cell_edges,
    apply_extra=_apply_cell_edge,
    cell_space=NB201_SPACE,
)
