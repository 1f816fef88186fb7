"""Attention-like ops: multi-head self-attention (`attention`) and squeeze-excitation (`se`)."""

from __future__ import annotations

from pydantic import Field

from archlab.tools.errors import ShapeError
from archlab.tools.ops.spec import Call, OpSpec, Params, need_kind
from archlab.tools.tensors import TensorType


class AttentionParams(Params):
    heads: int = Field(2, ge=1)


class SEParams(Params):
    reduction: int = Field(4, ge=1)


def _attention_shape(p: AttentionParams, t: TensorType, _child: object = None) -> TensorType:
    need_kind("attention", t, ("seq", "tokens"))
    if not (t.channels % p.heads == 0):
        raise ShapeError(f"attention heads {p.heads} must divide embedding {t.channels}")
    return t


def _se_shape(p: SEParams, t: TensorType, _child: object = None) -> TensorType:
    need_kind("se", t, ("seq", "image"))
    return t


ATTENTION = OpSpec(
    name="attention", family="attention", params=AttentionParams, shape=_attention_shape,
    call=lambda p, t, c=None: Call("SelfAttention", (t.channels, p.heads, t.kind)),
    domains={"heads": (1, 2, 4, 8)}, insert_free=("heads",),
)
SE = OpSpec(
    name="se", family="attention", params=SEParams, shape=_se_shape,
    call=lambda p, t, c=None: Call("SqueezeExcite", (t.channels, max(1, t.channels // p.reduction))),
    domains={"reduction": (2, 4, 8)}, insert_free=("reduction",),
)
