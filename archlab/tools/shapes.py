"""Shape inference over a whole tree, and `validate`.

`Shapes(arch, input_type)` infers every node once, records the input/output
types each node sees (a node inside `repeat` sees several: one per copy), and
keeps a memo keyed by (node identity, input type). Edits reuse that memo to
check candidate changes locally instead of re-inferring the whole tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import ValidationError

from archlab.tools.errors import ArchError, ShapeError, one_line
from archlab.tools.ir import ROOT, Arch, Node, describe_validation_error, iter_nodes
from archlab.tools.ops.mined import mined_spec
from archlab.tools.ops.registry import OPS
from archlab.tools.ops.spec import OpSpec, Params
from archlab.tools.tensors import TensorType, input_type


class PathError(Exception):
    """A shape error already prefixed with the path of the node that raised it."""


class Children:
    """The callback composite rules use: `child(i, t)`, plus `count`."""

    __slots__ = ("fn", "count")

    def __init__(self, fn: Callable[[int, TensorType], Any], count: int) -> None:
        self.fn = fn
        self.count = count

    def __call__(self, i: int, t: TensorType) -> Any:
        return self.fn(i, t)


@dataclass
class Entry:
    """What inference learned about one path."""

    node: Node
    parent: str | None
    index: int
    ins: list[TensorType] = field(default_factory=list)
    outs: list[TensorType] = field(default_factory=list)


class OpTable:
    """Resolve op names to specs: built-ins plus this arch's mined ops."""

    def __init__(self, arch: Arch) -> None:
        self._mined = {name: mined_spec(op) for name, op in arch.mined.items()}

    def specs(self) -> list[OpSpec]:
        """Built-in specs then mined ones, in a stable order."""
        return list(OPS.values()) + [self._mined[k] for k in sorted(self._mined)]

    def spec(self, op: str) -> OpSpec:
        found = OPS.get(op) or self._mined.get(op)
        if found is None:
            raise ShapeError(f"unknown op {op!r}")
        return found


class Shapes:
    """Inferred types of every node of `arch` for input type `t_in`."""

    def __init__(self, arch: Arch, t_in: TensorType) -> None:
        self.arch = arch
        self.t_in = t_in
        self.ops = OpTable(arch)
        self.entries: dict[str, Entry] = {}
        self._params: dict[int, tuple[Node, Params]] = {}
        # Memo of inference keyed by (structure id, input type): equal subtrees (the
        # 200 identical blocks of a deep net) are inferred once per input type.
        self._memo: dict[tuple[int, TensorType], Any] = {}
        self._sids: dict[int, tuple[Node, int]] = {}
        self._interned: dict[tuple[Any, ...], int] = {}
        self.error: str | None = None
        self.out: TensorType | None = None
        try:
            self.out = self._record(arch.root, ROOT, None, 0, t_in)
        except PathError as exc:
            self.error = str(exc)

    # -- params ----------------------------------------------------------------
    def params(self, node: Node) -> Params:
        """Parsed, default-filled params of `node` (cached), or ShapeError."""
        hit = self._params.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        spec = self.ops.spec(node.op)
        lo, hi = spec.arity
        n = len(node.children)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if lo == hi else f"{lo} or more" if hi is None else f"{lo}..{hi}"
            raise ShapeError(f"{node.op} takes {want} children, got {n}")
        try:
            parsed = spec.params.model_validate(node.params)
        except ValidationError as exc:
            raise ShapeError(f"{node.op} params: {describe_validation_error(exc)}") from None
        self._params[id(node)] = (node, parsed)
        return parsed

    def sid(self, node: Node) -> int:
        """A small int naming the structure of `node` (op, params, children), equal for equal subtrees."""
        hit = self._sids.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        key = (node.op, _freeze(node.params), tuple(self.sid(c) for c in node.children))
        sid = self._interned.setdefault(key, len(self._interned))
        self._sids[id(node)] = (node, sid)  # the node is kept alive so its id is never reused
        return sid

    # -- inference ---------------------------------------------------------------
    def _record(self, node: Node, path: str, parent: str | None, index: int, t: TensorType) -> TensorType:
        entry = self.entries.get(path)
        if entry is None:
            entry = self.entries[path] = Entry(node, parent, index)
        entry.ins.append(t)
        try:
            spec = self.ops.spec(node.op)
            p = self.params(node)
            child = Children(lambda i, ti: self._record(node.children[i], f"{path}.{i}", path, i, ti),
                             len(node.children))
            out = spec.shape(p, t, child)
        except ShapeError as exc:
            raise PathError(f"{path}: {exc}") from None
        entry.outs.append(out)
        self._memo[(self.sid(node), t)] = out
        return out

    def infer(self, node: Node, t: TensorType) -> TensorType:
        """Output type of `node` on input `t` (memoised), or ShapeError."""
        key = (self.sid(node), t)
        hit = self._memo.get(key)
        if hit is not None:
            if isinstance(hit, ShapeError):
                raise hit
            return hit
        try:
            spec = self.ops.spec(node.op)
            p = self.params(node)
            child = Children(lambda i, ti: self.infer(node.children[i], ti), len(node.children))
            out = spec.shape(p, t, child)
        except ShapeError as exc:
            self._memo[key] = exc
            raise
        self._memo[key] = out
        return out

    def infer_or_none(self, node: Node, t: TensorType) -> TensorType | None:
        try:
            return self.infer(node, t)
        except ShapeError:
            return None


def _freeze(value: Any) -> Any:
    """A hashable, type-exact form of a params value (1 and 1.0 and True stay distinct)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    return (type(value).__name__, value if isinstance(value, (int, float, str, bool, type(None))) else repr(value))


def param_problems(arch: Arch) -> list[str]:
    """One message per node whose op is unknown, params are bad or arity is wrong."""
    ops = OpTable(arch)
    problems = []
    for path, node in iter_nodes(arch.root):
        try:
            spec = ops.spec(node.op)
            lo, hi = spec.arity
            n = len(node.children)
            if n < lo or (hi is not None and n > hi):
                raise ShapeError(f"{node.op} takes {lo if lo == hi else f'{lo}+'} children, got {n}")
            spec.params.model_validate(node.params)
        except ShapeError as exc:
            problems.append(f"{path}: {exc}")
        except ValidationError as exc:
            problems.append(f"{path}: {node.op} params: {describe_validation_error(exc)}")
    return problems


def validate(arch: Arch, input_shape: tuple[int, ...]) -> list[str]:
    """Every reason `arch` cannot be built for `input_shape`; empty when valid.

    Each message is one line naming the node path, e.g.
    `root.2: conv kernel 9 (dilation 1) > padded length 5`.
    """
    return _inferred(arch, input_shape)[1]


def checked_shapes(arch: Arch, input_shape: tuple[int, ...]) -> Shapes:
    """Shapes of a valid tree, or ArchError with the first problem."""
    shapes, problems = _inferred(arch, input_shape)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ArchError(f"invalid architecture: {problems[0]}{more}")
    assert shapes is not None  # `_inferred` gives shapes whenever it finds no problem
    return shapes


def _inferred(arch: Arch, input_shape: tuple[int, ...]) -> tuple[Shapes | None, list[str]]:
    """The tree's shapes (None when they cannot be inferred) and every problem found: the
    validation's own inference is the one a valid tree's callers use (not a second one)."""
    if not isinstance(arch, Arch):
        return None, [f"expected an Arch, got {type(arch).__name__}"]
    try:
        t_in = input_type(input_shape)
    except ArchError as exc:
        return None, [str(exc)]
    problems = param_problems(arch)
    if problems:
        return None, problems
    shapes = Shapes(arch, t_in)
    return shapes, [one_line(shapes.error)] if shapes.error else []
