"""Parameter counts of trees in closed form, without building torch modules.

Why: a size budget has to judge hundreds of candidate children per menu; building
each one as `nn.Module` costs milliseconds, reading its constructor calls costs
microseconds. Every op already lowers to `Call`s (`ops/spec.py`), the very data
`build` instantiates, so counting the parameters those calls would create is exact
by construction; the tests hold it equal to `count_params(build(...))`.

Mined ops run user code, so their size is unknown here: a count that meets one
is a lower bound and says so (`exact=False`).
"""

from __future__ import annotations

from typing import Any, Callable

from archlab.tools.ir import Arch, Node
from archlab.tools.ops.spec import Call
from archlab.tools.shapes import Children, Shapes, checked_shapes
from archlab.tools.tensors import TensorType

_CHILD = Call("__child__")  # stands for a child subtree, counted separately (and memoised)


def _linear(args: tuple[Any, ...], kw: dict[str, Any]) -> int:
    in_f, out_f = args[0], args[1]
    return in_f * out_f + (out_f if kw.get("bias", True) else 0)


def _conv(dims: int) -> Callable[[tuple[Any, ...], dict[str, Any]], int]:
    def count(args: tuple[Any, ...], kw: dict[str, Any]) -> int:
        c_in, c_out = args[0], args[1]
        kernel = args[2] if len(args) > 2 else kw["kernel_size"]
        groups = kw.get("groups", 1)
        return (c_in // groups) * c_out * kernel ** dims + (c_out if kw.get("bias", True) else 0)
    return count


def _norm_affine(args: tuple[Any, ...], kw: dict[str, Any]) -> int:
    return 2 * args[-1]  # weight and bias over the channels (running stats are buffers)


def _sepconv(args: tuple[Any, ...], kw: dict[str, Any]) -> int:
    c_in, c_out, kernel, dims = args[0], args[1], args[2], args[6]
    return (c_in * kernel ** dims + c_in) + (c_in * c_out + c_out)


def _se(args: tuple[Any, ...], kw: dict[str, Any]) -> int:
    channels, hidden = args
    return (channels * hidden + hidden) + (hidden * channels + channels)


def _attention(args: tuple[Any, ...], kw: dict[str, Any]) -> int:
    dim = args[0]
    return 4 * dim * dim + 4 * dim  # in-projection (q, k, v) and out-projection, with biases


def _gru(args: tuple[Any, ...], kw: dict[str, Any]) -> int:
    n_in, hidden = args[0], args[1]
    return 3 * hidden * (n_in + hidden + 2)


def _none(args: tuple[Any, ...], kw: dict[str, Any]) -> int:
    return 0


# Own parameters of each constructor a tree lowers to (nested calls are summed separately).
_OWN: dict[str, Callable[[tuple[Any, ...], dict[str, Any]], int]] = {
    "nn.Linear": _linear, "nn.Conv1d": _conv(1), "nn.Conv2d": _conv(2),
    "nn.BatchNorm1d": _norm_affine, "nn.BatchNorm2d": _norm_affine, "nn.GroupNorm": _norm_affine,
    "nn.LayerNorm": _norm_affine, "SepConv": _sepconv, "SqueezeExcite": _se,
    "SelfAttention": _attention, "GRULayer": _gru,
    **{name: _none for name in (
        "nn.Sequential", "nn.Identity", "nn.Flatten", "nn.Dropout", "nn.ReLU", "nn.GELU", "nn.SiLU",
        "nn.Tanh", "nn.MaxPool1d", "nn.MaxPool2d", "nn.AvgPool1d", "nn.AvgPool2d",
        "nn.AdaptiveAvgPool1d", "nn.AdaptiveAvgPool2d", "Residual", "Parallel", "GlobalAvgPool",
        "ToTokens", "NB201Cell", "__child__")},
}


def call_params(call: Any) -> tuple[int, bool]:
    """(parameters `call` creates, exact?) including nested calls; unknown targets count 0, inexact."""
    if call is None:
        return 0, True
    if isinstance(call, (list, tuple)):
        total, exact = 0, True
        for item in call:
            n, e = call_params(item)
            total, exact = total + n, exact and e
        return total, exact
    if not isinstance(call, Call):
        return 0, True
    rule = _OWN.get(call.target)
    total, exact = (rule(call.args, dict(call.kwargs)), True) if rule is not None else (0, False)
    for value in (*call.args, *call.kwargs.values()):
        if isinstance(value, (Call, list, tuple)):
            n, e = call_params(value)
            total, exact = total + n, exact and e
    return total, exact


class ParamCounter:
    """Parameters of subtrees on given input types, memoised by structure (see module docstring).

    Shares the `Shapes` of one tree: children of a candidate edit that are unchanged
    (same structure, same input type) are counted once, so judging a child costs
    about the length of the changed path, not the size of the tree.
    """

    def __init__(self, shapes: Shapes) -> None:
        self.shapes = shapes
        self._memo: dict[tuple[int, TensorType], tuple[int, bool]] = {}

    def subtree(self, node: Node, t: TensorType) -> tuple[int, bool]:
        """(parameters of `node` on input `t`, exact?); ShapeError if it does not fit `t`."""
        key = (self.shapes.sid(node), t)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        spec = self.shapes.ops.spec(node.op)
        seen: list[tuple[int, TensorType]] = []

        def child(i: int, ti: TensorType) -> tuple[Call, TensorType]:
            seen.append((i, ti))
            return _CHILD, self.shapes.infer(node.children[i], ti)

        own, exact = call_params(spec.call(self.shapes.params(node), t, Children(child, len(node.children))))
        for i, ti in seen:
            n, e = self.subtree(node.children[i], ti)
            own, exact = own + n, exact and e
        self._memo[key] = (own, exact)
        return own, exact

    def model(self, root: Node, num_classes: int) -> tuple[int, bool]:
        """(parameters of the whole model: tree `root` on this input, plus the classifier head, exact?)."""
        n, exact = self.subtree(root, self.shapes.t_in)
        out = self.shapes.infer(root, self.shapes.t_in)
        return n + out.numel * num_classes + num_classes, exact


def tree_params(arch: Arch, input_shape: tuple[int, ...], num_classes: int) -> int | None:
    """Parameters of `build(arch, input_shape, num_classes)`, counted without building it.

    None when the tree uses a mined op (its size is known only by running its code).
    Raises ArchError (one line) for an invalid tree.
    """
    counter = ParamCounter(checked_shapes(arch, input_shape))
    n, exact = counter.model(arch.root, num_classes)
    return n if exact else None


__all__ = ["ParamCounter", "call_params", "tree_params"]
