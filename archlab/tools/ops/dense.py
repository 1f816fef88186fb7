"""Shape plumbing and dense layers: linear, flatten, to_tokens, identity, dropout."""

from __future__ import annotations

from pydantic import Field

from archlab.tools.ops.spec import WIDTHS, Call, OpSpec, Params, need_kind
from archlab.tools.tensors import TensorType


class LinearParams(Params):
    out_features: int = Field(64, ge=1)
    bias: bool = True


class NoParams(Params):
    pass


class DropoutParams(Params):
    p: float = Field(0.1, ge=0.0, lt=1.0)


def _linear_shape(p: LinearParams, t: TensorType, _child: object = None) -> TensorType:
    need_kind("linear", t, ("vector", "tokens"))
    return t.with_channels(p.out_features)


def _linear_call(p: LinearParams, t: TensorType, _child: object = None) -> Call:
    return Call("nn.Linear", (t.channels, p.out_features), {"bias": p.bias})


def _flatten_shape(_p: NoParams, t: TensorType, _child: object = None) -> TensorType:
    return TensorType("vector", (t.numel,))


def _to_tokens_shape(_p: NoParams, t: TensorType, _child: object = None) -> TensorType:
    need_kind("to_tokens", t, ("seq", "image"))
    return TensorType("tokens", (t.numel // t.channels, t.channels))


def _same(_p: object, t: TensorType, _child: object = None) -> TensorType:
    return t


LINEAR = OpSpec(
    name="linear", family="mlp", params=LinearParams, shape=_linear_shape, call=_linear_call,
    domains={"out_features": WIDTHS}, insert_free=("out_features",),
)
FLATTEN = OpSpec(
    name="flatten", family="reshape", params=NoParams, shape=_flatten_shape,
    call=lambda p, t, c=None: Call("nn.Flatten"), insert_free=(),
)
TO_TOKENS = OpSpec(
    name="to_tokens", family="reshape", params=NoParams, shape=_to_tokens_shape,
    call=lambda p, t, c=None: Call("ToTokens"), insert_free=(),
)
IDENTITY = OpSpec(
    name="identity", family="identity", params=NoParams, shape=_same,
    call=lambda p, t, c=None: Call("nn.Identity"),
)
DROPOUT = OpSpec(
    name="dropout", family="regularizer", params=DropoutParams, shape=_same,
    call=lambda p, t, c=None: Call("nn.Dropout", (p.p,)),
    domains={"p": (0.0, 0.1, 0.2, 0.3, 0.5)}, insert_free=("p",),
)
