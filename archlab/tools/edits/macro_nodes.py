"""The subtrees macro edits insert, and the change each macro kind makes (see macros.py).

Shared by the menu (which judges the children) and by `apply` (which makes them),
so the two cannot disagree.
"""

from __future__ import annotations

from archlab.tools.errors import ArchError
from archlab.tools.ir import Node, get_node, parent_of

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


def macro_change(root: Node, edit: Edit) -> tuple[str, str, Node]:
    """(action, path, node) of the filled macro `edit`, as `transform.Change` reads them:
    `insert` the node at path, or `replace` the node at path (ArchError when it does not apply)."""
    kind, path, fixed = edit.kind, edit.path, edit.fixed
    if kind in ("widen", "make_room"):
        node = get_node(root, path)
        if node.op != fixed["op"]:
            raise ArchError(f"node at {path} is {node.op}, not {fixed['op']}")
        param = fixed["param"]
        return "replace", path, node.model_copy(update={"params": {**node.params, param: fixed[param]}})
    seq_path, index = parent_of(path)
    seq = get_node(root, seq_path)
    if seq.op != "seq":
        raise ArchError(f"{seq_path} is not a seq")
    if kind == "downsample":
        return "insert", path, Node(op="pool", params={"mode": fixed["mode"], "kernel": fixed["kernel"]})
    if kind not in ("stem", "deepen"):
        raise ArchError(f"unknown macro kind {kind!r}; kinds: {', '.join(MACRO_KINDS)}")
    if fixed["op"] == "linear":
        return "insert", path, dense_stage(fixed["out_features"])
    stage = conv_stage(fixed["out_channels"], fixed["kernel"], fixed["pool"])
    if "room" not in fixed:
        return "insert", path, stage
    room_seq, room_index = parent_of(fixed["room"])
    if room_seq != seq_path or room_index < index or seq.children[room_index].op != "linear":
        raise ArchError(f"room {fixed['room']} is not a linear after {path}")
    return "replace", seq_path, with_stage(seq, index, stage, room_index, fixed["hidden"])


def with_stage(seq: Node, index: int, stage: Node, room: int | None, hidden: int | None) -> Node:
    """`seq` with `stage` inserted at `index` and, when `room` is given, its linear child at
    `room` (counted before the insertion) set to `hidden` features."""
    children = list(seq.children)
    if room is not None and hidden is not None:
        linear = children[room]
        children[room] = linear.model_copy(update={"params": {**linear.params, "out_features": hidden}})
    children.insert(index, stage)
    return seq.model_copy(update={"children": children})
