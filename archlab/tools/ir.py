"""The architecture tree: generic nodes, mined ops carried inside, and paths.

A node is `Node(op, params, children)`; what `params` may hold and how many
children a node takes is decided by the op's `OpSpec` (see `ops/`), so adding
an op never changes this file. Paths name nodes: `root`, `root.2`, `root.2.0`.
Trees are immutable in spirit: edits build new nodes along the changed path
and share every untouched subtree.
"""

from __future__ import annotations

from typing import Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from archlab.tools.errors import ArchError, one_line
from archlab.tools.ops.registry import OPS

ROOT = "root"


class Node(BaseModel):
    """One module of the tree: an op name, its raw params, its children."""

    model_config = ConfigDict(extra="forbid")

    op: str
    params: dict[str, Any] = Field(default_factory=dict)
    children: list["Node"] = Field(default_factory=list)


class MinedParam(BaseModel):
    """A constructor argument of a mined class turned into a typed parameter."""

    type: Literal["int", "float", "bool", "str"]
    default: Any
    values: list[Any] = Field(default_factory=list)  # the tunable domain (may be empty)


class MinedOp(BaseModel):
    """A user `nn.Module` class turned into a leaf op; its source travels with the tree.

    Building it executes `source`, which is allowed only where code may run
    (the sandbox): `build(..., allow_code=True)`.
    """

    model_config = ConfigDict(extra="forbid")

    name: str  # the op name used in nodes, always "mined.<ClassName>"
    class_name: str
    source: str
    params: dict[str, MinedParam] = Field(default_factory=dict)
    channels_arg: str | None = None  # constructor argument that receives the input channels
    kinds: list[Literal["vector", "seq", "image", "tokens"]]
    out_rule: Literal["same", "channels_param"] = "same"
    out_param: str | None = None  # with out_rule "channels_param": the argument giving out channels


class Arch(BaseModel):
    """A whole architecture: the root node plus the mined ops it uses.

    `model_validate_json` / `model_validate` raise `ArchError` (one line) on
    malformed input or unknown ops; shape problems are reported by `validate()`.
    """

    model_config = ConfigDict(extra="forbid")

    root: Node
    mined: dict[str, MinedOp] = Field(default_factory=dict)
    name: str = ""  # a label for people; ignored by arch_hash

    @model_validator(mode="after")
    def _ops_are_known(self) -> "Arch":
        for path, node in iter_nodes(self.root):
            if node.op not in OPS and node.op not in self.mined:
                raise ValueError(f"unknown op {node.op!r} at {path}")
        for key, op in self.mined.items():
            if key != op.name or not key.startswith("mined."):
                raise ValueError(f"mined op key {key!r} must equal its name 'mined.<Class>'")
        return self

    @classmethod
    def model_validate_json(cls, json_data: str | bytes, **kwargs: Any) -> "Arch":  # type: ignore[override]
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            raise ArchError(f"bad architecture JSON: {describe_validation_error(exc)}") from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> "Arch":  # type: ignore[override]
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise ArchError(f"bad architecture: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError) -> str:
    """The first pydantic error as `where: what` on one line."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "input"
    extra = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return one_line(f"{where}: {first.get('msg', 'invalid')}{extra}")


def child_path(path: str, index: int) -> str:
    return f"{path}.{index}"


def parent_of(path: str) -> tuple[str, int]:
    """`root.2.0` -> (`root.2`, 0). The root has no parent."""
    head, _, tail = path.rpartition(".")
    if not head or not tail.isdigit():
        raise ArchError(f"path {path!r} has no parent")
    return head, int(tail)


def iter_nodes(node: Node, path: str = ROOT) -> Iterator[tuple[str, Node]]:
    """Pre-order walk yielding (path, node)."""
    stack = [(path, node)]
    while stack:
        p, n = stack.pop()
        yield p, n
        stack.extend((child_path(p, i), c) for i, c in reversed(list(enumerate(n.children))))


def count_nodes(node: Node) -> int:
    return sum(1 for _ in iter_nodes(node))


def _indices(path: str) -> list[int]:
    parts = path.split(".")
    if parts[0] != ROOT or not all(p.isdigit() for p in parts[1:]):
        raise ArchError(f"bad node path {path!r}: expected 'root' or 'root.<i>.<j>...'")
    return [int(p) for p in parts[1:]]


def get_node(root: Node, path: str) -> Node:
    node = root
    for i in _indices(path):
        if i >= len(node.children):
            raise ArchError(f"no node at {path}")
        node = node.children[i]
    return node


def replace_node(root: Node, path: str, new: Node | None) -> Node:
    """Return a new root where the node at `path` is `new` (or removed if None)."""
    idx = _indices(path)
    if not idx:
        if new is None:
            raise ArchError("cannot remove the root")
        return new
    return _replace(root, idx, new, path)


def _replace(node: Node, idx: list[int], new: Node | None, path: str) -> Node:
    i = idx[0]
    if i >= len(node.children):
        raise ArchError(f"no node at {path}")
    children = list(node.children)
    if len(idx) == 1:
        if new is None:
            del children[i]
        else:
            children[i] = new
    else:
        children[i] = _replace(children[i], idx[1:], new, path)
    return node.model_copy(update={"children": children})


def insert_child(root: Node, parent_path: str, index: int, new: Node) -> Node:
    """Return a new root with `new` inserted as child `index` of the node at `parent_path`."""
    parent = get_node(root, parent_path)
    if not 0 <= index <= len(parent.children):
        raise ArchError(f"no position {index} in {parent_path}")
    children = list(parent.children)
    children.insert(index, new)
    return replace_node(root, parent_path, parent.model_copy(update={"children": children}))
