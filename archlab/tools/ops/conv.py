"""Convolutions over sequences (1-D) and images (2-D): `conv` and `sepconv`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archlab.tools.errors import ShapeError
from archlab.tools.ops.spec import KERNELS, WIDTHS, Call, OpSpec, Params, need_kind
from archlab.tools.tensors import TensorType

Padding = Literal["same", "valid"] | int


class ConvParams(Params):
    out_channels: int = Field(16, ge=1)
    kernel: int = Field(3, ge=1)
    stride: int = Field(1, ge=1)
    dilation: int = Field(1, ge=1)
    groups: int = Field(1, ge=1)
    padding: Padding = "same"
    bias: bool = True


class SepConvParams(Params):
    out_channels: int = Field(16, ge=1)
    kernel: int = Field(3, ge=1)
    stride: int = Field(1, ge=1)
    dilation: int = Field(1, ge=1)
    padding: Padding = "same"


def _pad_amount(padding: Padding) -> int | None:
    """Explicit padding per side, or None for 'same'."""
    if padding == "same":
        return None
    if padding == "valid":
        return 0
    if not (isinstance(padding, int) and padding >= 0):
        raise ShapeError(f"padding {padding!r} must be same, valid or an int >= 0")
    return int(padding)


def conv_out_spatial(op: str, t: TensorType, kernel: int, stride: int, dilation: int,
                     padding: Padding) -> tuple[int, ...]:
    """Output spatial sizes of a convolution (PyTorch's formula), or ShapeError."""
    need_kind(op, t, ("seq", "image"))
    pad = _pad_amount(padding)
    if pad is None:
        if not (stride == 1):
            raise ShapeError(f"{op} padding 'same' needs stride 1, got stride {stride}")
        return t.spatial
    span = dilation * (kernel - 1) + 1
    sizes = tuple((size + 2 * pad - span) // stride + 1 for size in t.spatial)
    if not (all(s >= 1 for s in sizes)):
        raise ShapeError(f"{op} kernel {kernel} (dilation {dilation}) > padded length {min(t.spatial) + 2 * pad}")
    return sizes


def _conv_shape(p: ConvParams, t: TensorType, _child: object = None) -> TensorType:
    spatial = conv_out_spatial("conv", t, p.kernel, p.stride, p.dilation, p.padding)
    if not (t.channels % p.groups == 0 and p.out_channels % p.groups == 0):
        raise ShapeError(f"conv groups {p.groups} must divide in channels {t.channels} and out channels {p.out_channels}")
    return TensorType(t.kind, (p.out_channels, *spatial))


def _conv_call(p: ConvParams, t: TensorType, _child: object = None) -> Call:
    cls = "nn.Conv1d" if t.kind == "seq" else "nn.Conv2d"
    return Call(cls, (t.channels, p.out_channels), {
        "kernel_size": p.kernel, "stride": p.stride, "padding": p.padding,
        "dilation": p.dilation, "groups": p.groups, "bias": p.bias})


def _sepconv_shape(p: SepConvParams, t: TensorType, _child: object = None) -> TensorType:
    spatial = conv_out_spatial("sepconv", t, p.kernel, p.stride, p.dilation, p.padding)
    return TensorType(t.kind, (p.out_channels, *spatial))


def _sepconv_call(p: SepConvParams, t: TensorType, _child: object = None) -> Call:
    return Call("SepConv", (t.channels, p.out_channels, p.kernel, p.stride, p.dilation,
                            p.padding, len(t.spatial)))


CONV = OpSpec(
    name="conv", family="conv", params=ConvParams, shape=_conv_shape, call=_conv_call,
    domains={"out_channels": WIDTHS, "kernel": KERNELS, "stride": (1, 2), "dilation": (1, 2, 3),
             "groups": (1, 2, 4), "padding": ("same", "valid", 1)},
    insert_free=("out_channels", "kernel"), insert_defaults={"padding": "same"},
)

SEPCONV = OpSpec(
    name="sepconv", family="conv", params=SepConvParams, shape=_sepconv_shape, call=_sepconv_call,
    domains={"out_channels": WIDTHS, "kernel": KERNELS, "stride": (1, 2), "dilation": (1, 2, 3),
             "padding": ("same", "valid", 1)},
    insert_free=("out_channels", "kernel"), insert_defaults={"padding": "same"},
)
