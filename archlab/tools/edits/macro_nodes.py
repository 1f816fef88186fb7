"""The subtrees macro edits insert, and the change each macro kind makes (see macros.py).

Shared by the menu (which judges the children) and by `apply` (which makes them),
so the two cannot disagree.
"""

from __future__ import annotations

from archlab.tools.errors import ArchError
from archlab.tools.ir import Node, get_node, insert_child, parent_of, replace_node

from archlab.tools.edits.model import MACRO_KINDS, Edit


def conv_stage(out_channels: int, kernel: int, pool: int) -> Node:
    """conv ('same') -> batch norm -> ReLU, then a max pool of `pool` (none when 1)."""
    children = [Node(op="conv", params={"out_channels": out_channels, "kernel": kernel, "padding": "same"}),
                Node(op="norm"), Node(op="act")]
    if pool > 1:
        children.append(Node(op="pool", params={"mode": "max", "kernel": pool}))
    return Node(op="seq", children=children)


def dense_stage(out_features: int) -> Node:
    return Node(op="seq", children=[Node(op="linear", params={"out_features": out_features}), Node(op="act")])


def macro_root(root: Node, edit: Edit) -> Node:
    """The new root after the filled macro `edit` (ArchError when it does not apply here)."""
    kind, path, fixed = edit.kind, edit.path, edit.fixed
    if kind in ("widen", "make_room"):
        node = get_node(root, path)
        if node.op != fixed["op"]:
            raise ArchError(f"node at {path} is {node.op}, not {fixed['op']}")
        param = fixed["param"]
        return replace_node(root, path, node.model_copy(update={"params": {**node.params, param: fixed[param]}}))
    seq_path, index = parent_of(path)
    if get_node(root, seq_path).op != "seq":
        raise ArchError(f"{seq_path} is not a seq")
    if kind == "downsample":
        return insert_child(root, seq_path, index, Node(op="pool", params={"mode": fixed["mode"], "kernel": fixed["kernel"]}))
    if kind not in ("stem", "deepen"):
        raise ArchError(f"unknown macro kind {kind!r}; kinds: {', '.join(MACRO_KINDS)}")
    if fixed["op"] == "linear":
        return insert_child(root, seq_path, index, dense_stage(fixed["out_features"]))
    if "room" in fixed:
        room = get_node(root, fixed["room"])
        if room.op != "linear" or parent_of(fixed["room"])[0] != seq_path:
            raise ArchError(f"room {fixed['room']} is not a linear of {seq_path}")
        root = replace_node(root, fixed["room"], room.model_copy(
            update={"params": {**room.params, "out_features": fixed["hidden"]}}))
    return insert_child(root, seq_path, index, conv_stage(fixed["out_channels"], fixed["kernel"], fixed["pool"]))
