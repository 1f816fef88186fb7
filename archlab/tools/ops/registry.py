"""The table of built-in ops. Adding an op = one module under ops/ + one line here.

`OPS` is a read-only mapping built once at import: a constant, not mutable
global state. Mined ops are not in it; they travel inside each `Arch`.
"""

from __future__ import annotations

from types import MappingProxyType

from archlab.tools.ops.attention import ATTENTION, SE
from archlab.tools.ops.composite import PARALLEL, REPEAT, RESIDUAL, SEQ
from archlab.tools.ops.conv import CONV, SEPCONV
from archlab.tools.ops.dense import DROPOUT, FLATTEN, IDENTITY, LINEAR, TO_TOKENS
from archlab.tools.ops.norm import ACT, NORM
from archlab.tools.ops.pool import GAP, POOL
from archlab.tools.ops.recurrent import GRU
from archlab.tools.ops.spec import OpSpec

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
