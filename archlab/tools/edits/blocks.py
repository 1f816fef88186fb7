"""Blocks that `insert` can add in one step: small subtrees of built-in ops.

On the menu a block appears as `insert` with `fixed={"op": "block:<name>"}`.

A block is a named template (values -> Node). Like an op's insert variants,
its first free parameter may change the output type and the others must not;
`block_variants` checks every value with the real shape rules of the built
subtree, so the menu stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from archlab.tools.errors import ShapeError
from archlab.tools.ir import Node
from archlab.tools.ops.spec import WIDTHS
from archlab.tools.tensors import TensorType

from archlab.tools.edits.variants import Variants


@dataclass(frozen=True)
class Block:
    name: str
    free: tuple[tuple[str, tuple[Any, ...]], ...]  # ordered: the first may change the output type
    defaults: tuple[tuple[str, Any], ...]
    make: Callable[[dict[str, Any]], Node]

    def node(self, values: dict[str, Any]) -> Node:
        return _block_node(self, tuple(sorted({**dict(self.defaults), **values}.items())))


@lru_cache(maxsize=1024)
def _block_node(block: Block, values: tuple[tuple[str, Any], ...]) -> Node:
    """Block subtrees are rebuilt for every menu; share them (trees never change nodes in place)."""
    return block.make(dict(values))


def _conv(v: dict[str, Any]) -> Node:
    return Node(op="conv", params={"out_channels": v["out_channels"], "kernel": v["kernel"], "padding": "same"})


def _seq(*children: Node) -> Node:
    return Node(op="seq", children=list(children))


_CONV_FREE = (("out_channels", WIDTHS), ("kernel", (3, 5, 7)))
_CONV_DEFAULTS = (("out_channels", 16), ("kernel", 3), ("n", 2))

BLOCKS: tuple[Block, ...] = (
    Block("conv_norm_act", _CONV_FREE, _CONV_DEFAULTS,
          lambda v: _seq(_conv(v), Node(op="norm"), Node(op="act"))),
    Block("res_conv", _CONV_FREE, _CONV_DEFAULTS,
          lambda v: Node(op="residual", children=[_seq(_conv(v), Node(op="norm"), Node(op="act"))])),
    Block("repeat_conv", (*_CONV_FREE, ("n", (1, 2, 3))), _CONV_DEFAULTS,
          lambda v: Node(op="repeat", params={"n": v["n"]}, children=[_seq(_conv(v), Node(op="act"))])),
    Block("mlp", (("out_features", WIDTHS),), (("out_features", 64),),
          lambda v: _seq(Node(op="linear", params={"out_features": v["out_features"]}), Node(op="act"))),
)
BLOCKS_BY_NAME: dict[str, Block] = {b.name: b for b in BLOCKS}


def block_variants(block: Block, t: TensorType, infer: Callable[[Node, TensorType], TensorType]) -> Variants | None:
    """Valid settings of `block` on input `t` (see module docstring), or None."""

    def out(values: dict[str, Any]) -> TensorType | None:
        try:
            return infer(block.node(values), t)
        except ShapeError:
            return None

    base_out = out({})
    (first, first_domain), *rest = block.free
    first_values = tuple((v, o) for v in first_domain if (o := out({first: v})) is not None)
    if not first_values or base_out is None:
        return None
    others = {name: [v for v in domain if out({name: v}) == base_out] for name, domain in rest}
    if any(not values for values in others.values()):
        return None
    return Variants(block.name, {}, first, first_values, others, base_out)
