"""The tree change each edit kind makes, without any legality check.

`apply` checks an edit against the legal menu first; the menu builder uses this
directly on entries it has just listed (their legality is known) to judge the
children against a size budget.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from archlab.tools.errors import ArchError
from archlab.tools.ir import Arch, Node, describe_validation_error, get_node, insert_child, parent_of, replace_node
from archlab.tools.ops.registry import OPS

from archlab.tools.edits.blocks import BLOCKS_BY_NAME
from archlab.tools.edits.macro_nodes import macro_root
from archlab.tools.edits.model import MACRO_KINDS, Edit

_NOT_PARAMS = ("op", "merge", "param")


def _new_node(fixed: dict[str, Any]) -> Node:
    op = fixed["op"]
    if op.startswith("block:"):
        block = BLOCKS_BY_NAME.get(op[len("block:"):])
        if block is None:
            raise ArchError(f"unknown block {op!r}; blocks: {', '.join(BLOCKS_BY_NAME)}")
        return block.node({k: v for k, v in fixed.items() if k != "op"})
    if op not in OPS and not op.startswith("mined."):
        raise ArchError(f"unknown op {op!r}")
    return Node(op=op, params={k: v for k, v in fixed.items() if k not in _NOT_PARAMS})


def transform(arch: Arch, edit: Edit) -> Node:
    """The new root after the filled `edit` (ArchError, KeyError, ... when it does not apply)."""
    root, path, fixed = arch.root, edit.path, edit.fixed
    kind = edit.kind
    if kind in MACRO_KINDS:
        return macro_root(root, edit)
    if kind == "insert":
        seq_path, index = parent_of(path)
        if get_node(root, seq_path).op != "seq":
            raise ArchError(f"{seq_path} is not a seq")
        return insert_child(root, seq_path, index, _new_node(fixed))
    node = get_node(root, path)
    if kind == "replace":
        return replace_node(root, path, _new_node(fixed))
    if kind == "remove":
        parent_path, _ = parent_of(path)
        if get_node(root, parent_path).op not in ("seq", "parallel"):
            raise ArchError(f"only children of seq or parallel can be removed, {parent_path} is {get_node(root, parent_path).op}")
        return replace_node(root, path, None)
    if kind in ("set_param", "swap_act", "swap_norm"):
        param = fixed.get("param") or ("fn" if kind == "swap_act" else "kind")
        if fixed.get("op", node.op) != node.op:
            raise ArchError(f"node at {path} is {node.op}, not {fixed.get('op')}")
        return replace_node(root, path, node.model_copy(update={"params": {**node.params, param: fixed[param]}}))
    if kind == "wrap_residual":
        return replace_node(root, path, Node(op="residual", children=[node]))
    if kind == "add_branch":
        branch = Node(op="identity") if fixed["op"] == "identity" else _new_node(fixed)
        if node.op == "parallel":
            return replace_node(root, path, node.model_copy(update={"children": [*node.children, branch]}))
        return replace_node(root, path, Node(op="parallel", params={"merge": fixed["merge"]}, children=[node, branch]))
    if kind == "crossover":
        try:
            subtree = Node.model_validate(fixed["subtrees"][fixed["donor_path"]])
        except ValidationError as exc:
            raise ArchError(f"bad donor subtree: {describe_validation_error(exc)}") from None
        return replace_node(root, path, subtree)
    spec = OPS.get(node.op)
    if spec is None or spec.apply_extra is None:
        raise ArchError(f"{kind} does not apply to a {node.op} node")
    return replace_node(root, path, spec.apply_extra(node, edit))
