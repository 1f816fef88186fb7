"""Recurrent layers: `gru` over the sequence axis, returning the whole sequence."""

from __future__ import annotations

from pydantic import Field

from archlab.tools.ops.spec import WIDTHS, Call, OpSpec, Params, need_kind
from archlab.tools.tensors import TensorType


class GRUParams(Params):
    hidden: int = Field(32, ge=1)


def _gru_shape(p: GRUParams, t: TensorType, _child: object = None) -> TensorType:
    need_kind("gru", t, ("seq", "tokens"))
    return t.with_channels(p.hidden)


GRU = OpSpec(
    name="gru", family="recurrent", params=GRUParams, shape=_gru_shape,
    call=lambda p, t, c=None: Call("GRULayer", (t.channels, p.hidden, t.kind)),
    domains={"hidden": WIDTHS}, insert_free=("hidden",),
)
