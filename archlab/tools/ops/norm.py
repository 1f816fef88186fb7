"""Normalisations (`norm`: batch, layer, group) and activations (`act`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archlab.tools.errors import ShapeError
from archlab.tools.ops.spec import Call, OpSpec, Params
from archlab.tools.tensors import TensorType

NORM_KINDS = ("batch", "layer", "group")
ACT_FNS = ("relu", "gelu", "silu", "tanh")
_ACT_CLASS = {"relu": "nn.ReLU", "gelu": "nn.GELU", "silu": "nn.SiLU", "tanh": "nn.Tanh"}


class NormParams(Params):
    kind: Literal["batch", "layer", "group"] = "batch"
    groups: int = Field(4, ge=1)  # used by kind "group" only


class ActParams(Params):
    fn: Literal["relu", "gelu", "silu", "tanh"] = "relu"


def _norm_shape(p: NormParams, t: TensorType, _child: object = None) -> TensorType:
    if p.kind == "batch":
        if not (t.kind != "tokens"):
            raise ShapeError("norm batch is not defined on tokens; use layer")
    elif p.kind == "group":
        if not (t.kind in ("seq", "image")):
            raise ShapeError(f"norm group needs seq or image input, got {t}")
        if not (t.channels % p.groups == 0):
            raise ShapeError(f"norm group: groups {p.groups} must divide channels {t.channels}")
    return t


def _norm_call(p: NormParams, t: TensorType, _child: object = None) -> Call:
    """Layer norm on seq/image normalises over channels and positions: GroupNorm(1, C)."""
    if p.kind == "batch":
        return Call("nn.BatchNorm2d" if t.kind == "image" else "nn.BatchNorm1d", (t.channels,))
    if p.kind == "layer":
        if t.kind in ("vector", "tokens"):
            return Call("nn.LayerNorm", (t.channels,))
        return Call("nn.GroupNorm", (1, t.channels))
    return Call("nn.GroupNorm", (p.groups, t.channels))


NORM = OpSpec(
    name="norm", family="norm", params=NormParams, shape=_norm_shape, call=_norm_call,
    domains={"kind": NORM_KINDS, "groups": (1, 2, 4, 8)}, insert_free=("kind",),
)

ACT = OpSpec(
    name="act", family="act", params=ActParams, shape=lambda p, t, c=None: t,
    call=lambda p, t, c=None: Call(_ACT_CLASS[p.fn]), domains={"fn": ACT_FNS}, insert_free=("fn",),
)
