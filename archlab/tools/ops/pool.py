"""Pooling: windowed max/avg pooling (`pool`) and global average pooling (`gap`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archlab.tools.errors import ShapeError
from archlab.tools.ops.spec import Call, OpSpec, Params, need_kind
from archlab.tools.tensors import TensorType


class PoolParams(Params):
    mode: Literal["max", "avg"] = "max"
    kernel: int = Field(2, ge=1)
    stride: int | None = Field(None, ge=1)  # None: equal to the kernel
    padding: int = Field(0, ge=0)


class GapParams(Params):
    pass


def _pool_shape(p: PoolParams, t: TensorType, _child: object = None) -> TensorType:
    need_kind("pool", t, ("seq", "image"))
    if not (p.padding <= p.kernel // 2):
        raise ShapeError(f"pool padding {p.padding} must be at most half the kernel {p.kernel}")
    stride = p.stride or p.kernel
    sizes = tuple((s + 2 * p.padding - p.kernel) // stride + 1 for s in t.spatial)
    if not (all(s >= 1 for s in sizes)):
        raise ShapeError(f"pool kernel {p.kernel} > length {min(t.spatial)}")
    return TensorType(t.kind, (t.channels, *sizes))


def _pool_call(p: PoolParams, t: TensorType, _child: object = None) -> Call:
    dims = "1d" if t.kind == "seq" else "2d"
    cls = f"nn.{'MaxPool' if p.mode == 'max' else 'AvgPool'}{dims}"
    return Call(cls, (p.kernel,), {"stride": p.stride or p.kernel, "padding": p.padding})


def _gap_shape(_p: GapParams, t: TensorType, _child: object = None) -> TensorType:
    need_kind("gap", t, ("seq", "image", "tokens"))
    return TensorType("vector", (t.channels,))


POOL = OpSpec(
    name="pool", family="pool", params=PoolParams, shape=_pool_shape, call=_pool_call,
    domains={"kernel": (2, 3, 4), "mode": ("max", "avg")}, insert_free=("mode",),
)
GAP = OpSpec(
    name="gap", family="pool", params=GapParams, shape=_gap_shape,
    call=lambda p, t, c=None: Call("GlobalAvgPool", (t.kind if t.kind == "tokens" else "spatial",)),
    insert_free=(),
)
