"""The table of built-in ops. Adding an op = one module under ops/ + one line here.

`OPS` is a read-only mapping built once at import: a constant, not mutable
global state. Mined ops are not in it; they travel inside each `Arch`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from archlab.tools.ops.attention import ATTENTION, SE
from archlab.tools.ops.composite import PARALLEL, REPEAT, RESIDUAL, SEQ
from archlab.tools.ops.conv import CONV, SEPCONV
from archlab.tools.ops.dense import DROPOUT, FLATTEN, IDENTITY, LINEAR, TO_TOKENS
from archlab.tools.ops.norm import ACT, NORM
from archlab.tools.ops.pool import GAP, POOL
from archlab.tools.ops.recurrent import GRU
from archlab.tools.ops.spec import CellSpace, OpSpec

_BUILTIN: tuple[OpSpec, ...] = (
    SEQ, RESIDUAL, PARALLEL, REPEAT,
    CONV, SEPCONV, LINEAR, NORM, ACT, POOL, GAP, DROPOUT, SE, ATTENTION, GRU,
    IDENTITY, FLATTEN, TO_TOKENS,
)


def _optional() -> tuple[OpSpec, ...]:
    """Ops contributed by other rooms' modules, present once their file exists."""
    try:
        from archlab.tools.ops.nb201 import NB201_CELL  # type: ignore[import-not-found]
    except ImportError:
        return ()
    return (NB201_CELL,)


OPS: MappingProxyType[str, OpSpec] = MappingProxyType({s.name: s for s in _BUILTIN + _optional()})


def cell_space(arch: Any) -> CellSpace | None:
    """The closed cell space `arch` lies in (a tree that is one node of a cell-space op), else None."""
    spec = OPS.get(arch.root.op)
    if spec is None or spec.cell_space is None or arch.root.children:
        return None
    return spec.cell_space


def cell_spaces() -> tuple[CellSpace, ...]:
    """Every closed cell space the op table offers."""
    return tuple(spec.cell_space for spec in OPS.values() if spec.cell_space is not None)
