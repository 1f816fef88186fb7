"""The OpSpec of a mined op, made from the `MinedOp` record an Arch carries.

The shape behaviour was probed once when the class was mined (see mining.py):
either the output has the input's shape, or only its channels change to the
value of one constructor argument.
"""

from __future__ import annotations

from typing import Any

from pydantic import create_model

from archlab.tools.errors import ShapeError
from archlab.tools.ops.spec import Call, OpSpec, Params
from archlab.tools.tensors import TensorType

_PY_TYPES: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}


def mined_spec(op: Any) -> OpSpec:
    """Turn a `MinedOp` (ir.py) into an OpSpec usable like a built-in leaf op."""
    fields: dict[str, Any] = {
        name: (_PY_TYPES[p.type], p.default) for name, p in op.params.items()}
    params_model = create_model(f"{op.class_name}Params", __base__=Params, **fields)
    kinds = tuple(op.kinds)

    def shape(p: Any, t: TensorType, _child: object = None) -> TensorType:
        if not (t.kind in kinds):
            raise ShapeError(f"{op.name} needs {' or '.join(kinds)} input, got {t}")
        if op.out_rule == "channels_param" and op.out_param:
            value = getattr(p, op.out_param)
            if not (isinstance(value, int) and value >= 1):
                raise ShapeError(f"{op.name} {op.out_param} must be a positive int")
            return t.with_channels(value)
        return t

    def call(p: Any, t: TensorType, _child: object = None) -> Call:
        kwargs = dict(p.model_dump())
        if op.channels_arg:
            kwargs[op.channels_arg] = t.channels
        return Call(op.name, (), kwargs)

    domains = {name: tuple(p.values) for name, p in op.params.items() if p.values}
    free = tuple(([op.out_param] if op.out_param in domains else [])
                 + [n for n in domains if n != op.out_param])
    return OpSpec(name=op.name, family="mined", params=params_model, shape=shape, call=call,
                  domains=domains, insert_free=free)
