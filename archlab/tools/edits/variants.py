"""What an op can become when it is inserted (or swapped in) on a given input type.

For an insertable op and an input type, `variants` tries each value of the
op's free parameters once with the shape rule alone. The first free
parameter may change the output type (a width); the others must leave it as
it is (a kernel under 'same' padding, an activation). Results are cached per
(op, input type): a tree has few distinct types, so a 1,000-node menu costs
a few hundred shape-rule calls, not a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from archlab.tools.errors import ShapeError
from archlab.tools.ir import Node
from archlab.tools.ops.spec import OpSpec, Params
from archlab.tools.tensors import TensorType

from archlab.tools.edits.model import Domain, trusted_model
from archlab.tools.ops.registry import OPS


def with_value(p: Params, name: str, value: Any) -> Params:
    """`p` with one field changed, without pydantic's slow `model_copy` (values come from domains)."""
    return trusted_model(type(p), **{**p.__dict__, name: value})


@dataclass(frozen=True)
class Variants:
    """Valid settings of one insertable op on one input type."""

    op: str
    defaults: dict[str, Any]
    first: str | None  # the free parameter that may change the output type
    first_values: tuple[tuple[Any, TensorType], ...]  # (value, output type)
    others: dict[str, list[Any]]  # free params that keep the output type: valid values
    base_out: TensorType | None  # output with every param at its default

    def free_domains(self, accept: Callable[[TensorType], bool],
                     domain: Callable[[list[Any]], Domain] = Domain.trusted) -> dict[str, Domain] | None:
        """Free-parameter domains for a place that accepts outputs `accept`; None if none fit."""
        free: dict[str, Domain] = {}
        if self.first is not None:
            ok = [v for v, out in self.first_values if accept(out)]
            if not ok:
                return None
            free[self.first] = domain(ok)
        elif self.base_out is None or not accept(self.base_out):
            return None
        for name, values in self.others.items():
            free[name] = domain(values)
        return free

    def outputs(self) -> set[TensorType]:
        """Every output type this op can produce here."""
        outs = {out for _, out in self.first_values}
        if self.base_out is not None:
            outs.add(self.base_out)
        return outs

    def node(self, values: dict[str, Any]) -> Node:
        return Node(op=self.op, params={**self.defaults, **values})


def compute_variants(spec: OpSpec, t: TensorType) -> Variants | None:
    """Variants of `spec` on input `t`, or None when the op cannot go there at all."""
    if OPS.get(spec.name) is spec:
        return _builtin_variants(spec.name, t)
    return _compute(spec, t)


@lru_cache(maxsize=4096)
def _builtin_variants(op: str, t: TensorType) -> Variants | None:
    """Built-in ops are constants, so their variants are memoised across menus (a pure cache)."""
    return _compute(OPS[op], t)


def _compute(spec: OpSpec, t: TensorType) -> Variants | None:
    if spec.insert_free is None or not spec.is_leaf:
        return None
    defaults = dict(spec.insert_defaults)
    try:
        base = spec.params.model_validate(defaults)
    except ValueError:
        return None
    base_out = _try(spec, base, t)
    free = [f for f in spec.insert_free if f in spec.domains]
    first = free[0] if free else None
    first_values: list[tuple[Any, TensorType]] = []
    if first is not None:
        for v in spec.domains[first]:
            out = _try(spec, with_value(base, first, v), t)
            if out is not None:
                first_values.append((v, out))
        if not first_values:
            return None
    elif base_out is None:
        return None
    others: dict[str, list[Any]] = {}
    for name in free[1:]:
        ok = [v for v in spec.domains[name]
              if base_out is not None and _try(spec, with_value(base, name, v), t) == base_out]
        if not ok:
            return None
        others[name] = ok
    return Variants(spec.name, defaults, first, tuple(first_values), others, base_out)


def _try(spec: OpSpec, p: Params, t: TensorType) -> TensorType | None:
    try:
        return spec.shape(p, t, None)
    except ShapeError:
        return None
