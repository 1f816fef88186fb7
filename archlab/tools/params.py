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

from archlab.tools.ir import Arch, Node, child_path
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
        self._base_memo: dict[int, int] = {}
        self._from_memo: dict[tuple[str, int, TensorType, int], int] = {}
        self._up_memo: dict[tuple[str, TensorType, int], int] = {}

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
        return n + _head(out, num_classes), exact

    # -- children of this tree, counted from the change alone --------------------------------
    # A child made by one local change differs from the tree in the changed node and in the
    # nodes whose input type it alters (following siblings until types agree again, then the
    # ancestors), as in `edits/fits.py`. These return the model's parameters (mined ops
    # counted as 0, like `model`), for changes at single-context places only.

    def after_replace(self, path: str, new: Node, num_classes: int) -> int:
        """Parameters of the model with the (single-context) node at `path` replaced by `new`."""
        entry = self.shapes.entries[path]
        t = entry.ins[0]
        own = self.subtree(new, t)[0] - self.subtree(entry.node, t)[0]
        return self._base(num_classes) + own + self._up(path, self.shapes.infer(new, t), num_classes)

    def after_insert(self, seq_path: str, index: int, new: Node, num_classes: int) -> int:
        """Parameters of the model with `new` inserted at `index` of the (single-context) seq."""
        seq = self.shapes.entries[seq_path]
        t = self.shapes.entries[child_path(seq_path, index)].ins[0] if index < len(seq.node.children) else seq.outs[0]
        own = self.subtree(new, t)[0]
        return self._base(num_classes) + own + self._from(seq_path, index, self.shapes.infer(new, t), num_classes)

    def after_remove(self, path: str, num_classes: int) -> int:
        """Parameters of the model without the node at `path` (a child of a single-context seq)."""
        entry = self.shapes.entries[path]
        own = -self.subtree(entry.node, entry.ins[0])[0]
        return self._base(num_classes) + own + self._from(entry.parent, entry.index + 1, entry.ins[0], num_classes)  # type: ignore[arg-type]

    def _base(self, num_classes: int) -> int:
        if num_classes not in self._base_memo:
            self._base_memo[num_classes] = self.model(self.shapes.arch.root, num_classes)[0]
        return self._base_memo[num_classes]

    def _from(self, seq_path: str, start: int, t: TensorType, num_classes: int) -> int:
        """Change in parameters when child `start` of the seq (and so on) now receives `t`."""
        key = (seq_path, start, t, num_classes)
        if key not in self._from_memo:
            self._from_memo[key] = self._from_uncached(seq_path, start, t, num_classes)
        return self._from_memo[key]

    def _from_uncached(self, seq_path: str, start: int, t: TensorType, num_classes: int) -> int:
        entries = self.shapes.entries
        seq = entries[seq_path]
        delta = 0
        for j in range(start, len(seq.node.children)):
            old = entries[child_path(seq_path, j)].ins[0]
            if t == old:
                return delta
            child = seq.node.children[j]
            delta += self.subtree(child, t)[0] - self.subtree(child, old)[0]
            t = self.shapes.infer(child, t)
        return delta + self._up(seq_path, t, num_classes)

    def _up(self, path: str, out: TensorType, num_classes: int) -> int:
        """Change in parameters after and above the single-context node at `path` now giving `out`."""
        key = (path, out, num_classes)
        if key not in self._up_memo:
            self._up_memo[key] = self._up_uncached(path, out, num_classes)
        return self._up_memo[key]

    def _up_uncached(self, path: str, out: TensorType, num_classes: int) -> int:
        entries = self.shapes.entries
        entry = entries[path]
        if out == entry.outs[0]:
            return 0
        if entry.parent is None:
            return _head(out, num_classes) - _head(entry.outs[0], num_classes)
        parent = entries[entry.parent]
        if parent.node.op == "seq":
            return self._from(entry.parent, entry.index + 1, out, num_classes)
        new_own, new_out = self._own(entry.parent, entry.index, out)
        old_own, _ = self._own(entry.parent, entry.index, entry.outs[0])
        return new_own - old_own + self._up(entry.parent, new_out, num_classes)

    def _own(self, path: str, index: int, child_out: TensorType) -> tuple[int, TensorType]:
        """(own parameters, output) of the composite at `path` when its child `index` gives `child_out`."""
        entry = self.shapes.entries[path]
        node, spec, p = entry.node, self.shapes.ops.spec(entry.node.op), self.shapes.params(entry.node)

        def out_of(i: int, ti: TensorType) -> TensorType:
            return child_out if i == index else self.shapes.infer(node.children[i], ti)

        call = spec.call(p, entry.ins[0], Children(lambda i, ti: (_CHILD, out_of(i, ti)), len(node.children)))
        return call_params(call)[0], spec.shape(p, entry.ins[0], Children(out_of, len(node.children)))


def _head(out: TensorType, num_classes: int) -> int:
    """The automatic classifier head: Linear(flattened width, num_classes)."""
    return out.numel * num_classes + num_classes


def tree_params(arch: Arch, input_shape: tuple[int, ...], num_classes: int) -> int | None:
    """Parameters of `build(arch, input_shape, num_classes)`, counted without building it.

    None when the tree uses a mined op (its size is known only by running its code).
    Raises ArchError (one line) for an invalid tree.
    """
    counter = ParamCounter(checked_shapes(arch, input_shape))
    n, exact = counter.model(arch.root, num_classes)
    return n if exact else None


__all__ = ["ParamCounter", "call_params", "tree_params"]
