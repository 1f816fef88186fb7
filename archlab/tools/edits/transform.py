"""The tree change each edit kind makes, without any legality check.

Every edit is one local `Change`: a node inserted into a seq, a node replaced
(by a new subtree), or a node removed. `apply` checks an edit against the legal
menu first and then performs its change; the menu builder reads the change of
entries it has just listed (their legality is known) to count their children's
parameters from the changed place alone (see budget.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from archlab.tools.errors import ArchError
from archlab.tools.ir import Arch, Node, describe_validation_error, get_node, insert_child, parent_of, replace_node
from archlab.tools.ops.registry import OPS

from archlab.tools.edits.blocks import BLOCKS_BY_NAME
from archlab.tools.edits.macro_nodes import macro_change
from archlab.tools.edits.model import MACRO_KINDS, Edit

_NOT_PARAMS = ("op", "merge", "param")


@dataclass(frozen=True)
class Change:
    """`insert` `node` as the child at `path` (a seq's child), `replace` the node at `path`
    by `node`, or `remove` the node at `path`."""

    action: Literal["insert", "replace", "remove"]
    path: str
    node: Node | None = None


def new_node(fixed: dict[str, Any]) -> Node:
    """The node an insert, replace or add_branch entry's `fixed` values describe (op or block:NAME)."""
    op = fixed["op"]
    if op.startswith("block:"):
        block = BLOCKS_BY_NAME.get(op[len("block:"):])
        if block is None:
            raise ArchError(f"unknown block {op!r}; blocks: {', '.join(BLOCKS_BY_NAME)}")
        return block.node({k: v for k, v in fixed.items() if k != "op"})
    if op not in OPS and not op.startswith("mined."):
        raise ArchError(f"unknown op {op!r}")
    return Node(op=op, params={k: v for k, v in fixed.items() if k not in _NOT_PARAMS})


def change_of(root: Node, edit: Edit) -> Change:
    """The change the filled `edit` makes to the tree `root` (ArchError, KeyError, ... when it
    does not apply)."""
    path, fixed, kind = edit.path, edit.fixed, edit.kind
    if kind in MACRO_KINDS:
        action, where, node = macro_change(root, edit)
        return Change(action, where, node)  # type: ignore[arg-type]
    if kind == "insert":
        seq_path, _ = parent_of(path)
        if get_node(root, seq_path).op != "seq":
            raise ArchError(f"{seq_path} is not a seq")
        return Change("insert", path, new_node(fixed))
    node = get_node(root, path)
    if kind == "replace":
        return Change("replace", path, new_node(fixed))
    if kind == "remove":
        parent_path, _ = parent_of(path)
        if get_node(root, parent_path).op not in ("seq", "parallel"):
            raise ArchError(f"only children of seq or parallel can be removed, {parent_path} is {get_node(root, parent_path).op}")
        return Change("remove", path)
    if kind in ("set_param", "swap_act", "swap_norm"):
        param = fixed.get("param") or ("fn" if kind == "swap_act" else "kind")
        if fixed.get("op", node.op) != node.op:
            raise ArchError(f"node at {path} is {node.op}, not {fixed.get('op')}")
        return Change("replace", path, node.model_copy(update={"params": {**node.params, param: fixed[param]}}))
    if kind == "wrap_residual":
        return Change("replace", path, Node(op="residual", children=[node]))
    if kind == "add_branch":
        branch = Node(op="identity") if fixed["op"] == "identity" else new_node(fixed)
        if node.op == "parallel":
            return Change("replace", path, node.model_copy(update={"children": [*node.children, branch]}))
        return Change("replace", path, Node(op="parallel", params={"merge": fixed["merge"]}, children=[node, branch]))
    if kind == "crossover":
        try:
            subtree = Node.model_validate(fixed["subtrees"][fixed["donor_path"]])
        except ValidationError as exc:
            raise ArchError(f"bad donor subtree: {describe_validation_error(exc)}") from None
        return Change("replace", path, subtree)
    spec = OPS.get(node.op)
    if spec is None or spec.apply_extra is None:
        raise ArchError(f"{kind} does not apply to a {node.op} node")
    return Change("replace", path, spec.apply_extra(node, edit))


def perform(root: Node, change: Change) -> Node:
    """The new root after `change`."""
    if change.action == "insert":
        seq_path, index = parent_of(change.path)
        return insert_child(root, seq_path, index, change.node)  # type: ignore[arg-type]
    return replace_node(root, change.path, change.node)


def transform(arch: Arch, edit: Edit) -> Node:
    """The new root after the filled `edit` (ArchError, KeyError, ... when it does not apply)."""
    return perform(arch.root, change_of(arch.root, edit))
