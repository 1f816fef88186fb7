"""`apply`: perform one filled, legal edit and return the new tree.

Nothing is trusted: when the input shape is known (from the menu the edit
came from, or passed explicitly) the edit must match an entry of the current
legal menu, with every value inside its domain, and the result is validated
again; otherwise an EditError with a one-line reason is raised.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from archlab.tools.errors import ArchError, EditError
from archlab.tools.ir import Arch, Node, describe_validation_error, get_node, insert_child, parent_of, replace_node
from archlab.tools.ops.registry import OPS
from archlab.tools.shapes import param_problems, validate

from archlab.tools.edits.blocks import BLOCKS_BY_NAME
from archlab.tools.edits.enumerate import legal_edits
from archlab.tools.edits.model import Edit

_NOT_PARAMS = ("op", "merge", "param")


def apply(arch: Arch, edit: Edit, input_shape: tuple[int, ...] | None = None) -> Arch:
    """The tree after `edit`; EditError (one line) if the edit is unfilled or illegal."""
    if not isinstance(edit, Edit):
        raise EditError(f"apply needs an Edit, got {type(edit).__name__}")
    if not edit.is_filled:
        raise EditError(f"{edit.kind} at {edit.path}: free parameters {sorted(edit.free)} are not filled; "
                        "call fill() or sample() first")
    shape = input_shape if input_shape is not None else edit.input_shape
    if shape is not None and edit.kind != "crossover":
        menu = legal_edits(arch, tuple(shape), kinds=[edit.kind], path=edit.path)
        if not any(_matches(entry, edit) for entry in menu):
            raise EditError(f"not on the legal menu of this tree: {edit.describe()}")
    try:
        root = _transform(arch, edit)
        new = Arch(root=root, mined=arch.mined, name=arch.name)
    except (ArchError, KeyError, TypeError, ValueError) as exc:
        raise EditError(f"{edit.kind} at {edit.path} failed: {exc}") from None
    problems = validate(new, tuple(shape)) if shape is not None else param_problems(new)
    if problems:
        raise EditError(f"{edit.kind} at {edit.path} gives an invalid tree: {problems[0]}")
    return new


def _matches(entry: Edit, edit: Edit) -> bool:
    """Same kind, place and decided values, and every filled value inside the entry's domain."""
    if entry.kind != edit.kind or entry.path != edit.path:
        return False
    if set(edit.fixed) != set(entry.fixed) | set(entry.free):
        return False
    if any(edit.fixed[k] != v for k, v in entry.fixed.items()):
        return False
    return all(domain.contains(edit.fixed[name]) for name, domain in entry.free.items())


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


def _transform(arch: Arch, edit: Edit) -> Node:
    root, path, fixed = arch.root, edit.path, edit.fixed
    kind = edit.kind
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
