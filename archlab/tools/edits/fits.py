"""Does a local change keep the whole tree valid? Answered without re-inferring it.

A change at one node alters at most that node's output type. If the type is
unchanged, nothing downstream notices. Otherwise the new type is pushed to
the following siblings and up the ancestors, stopping as soon as some node's
output type is back to what it was (a conv or linear resets channels, so
this usually ends within a node or two). Unchanged subtrees are re-checked
through the memo of `Shapes`, so checks stay roughly constant-time and a full
edit menu stays linear in tree size.

Nodes inside a `repeat` with n > 1 see several input types; for them the
nearest single-context ancestor is re-inferred with the change applied.
"""

from __future__ import annotations

from archlab.tools.errors import ShapeError
from archlab.tools.ir import ROOT, Node, child_path, insert_child, replace_node
from archlab.tools.shapes import Children, Shapes
from archlab.tools.tensors import TensorType


class Fits:
    """Validity checks of local changes on one inferred tree."""

    def __init__(self, shapes: Shapes) -> None:
        self.shapes = shapes
        # Memos make a whole menu linear: a new type travelling down a long seq
        # (a pool inserted anywhere before 200 blocks) is walked once, not once per place.
        self._seq_memo: dict[tuple[str, int, TensorType], TensorType | ShapeError] = {}
        self._up_memo: dict[tuple[str, TensorType], bool] = {}

    def single(self, path: str) -> bool:
        """True when the node at `path` is inferred once (not inside a multi-copy repeat)."""
        return len(self.shapes.entries[path].ins) == 1

    # -- public checks -----------------------------------------------------------
    def replace(self, path: str, new: Node) -> bool:
        """Is the tree valid with the node at `path` replaced by `new`?"""
        if self.single(path):
            out = self.shapes.infer_or_none(new, self.shapes.entries[path].ins[0])
            return out is not None and self.output_change(path, out)
        return self._slow(path, lambda sub, rel: replace_node(sub, rel, new))

    def output_change(self, path: str, new_out: TensorType) -> bool:
        """Is the tree valid if the (single-context) node at `path` now outputs `new_out`?"""
        entries = self.shapes.entries
        visited: list[tuple[str, TensorType]] = []
        result = True
        while True:
            entry = entries[path]
            if new_out == entry.outs[0] or entry.parent is None:
                break  # unchanged from here on, or the root: the head flattens any type
            key = (path, new_out)
            hit = self._up_memo.get(key)
            if hit is not None:
                result = hit
                break
            visited.append(key)
            if len(entries[entry.parent].ins) != 1:
                result = False  # unreachable: a single-context node has single-context ancestors
                break
            try:
                new_out = self._parent_out(entry.parent, entry.index, new_out)
            except ShapeError:
                result = False
                break
            path = entry.parent
        for key in visited:
            self._up_memo[key] = result
        return result

    def insert(self, seq_path: str, index: int, new: Node) -> bool:
        """Is the tree valid with `new` inserted as child `index` of the seq at `seq_path`?"""
        if not self.single(seq_path):
            return self._slow(seq_path, lambda sub, rel: insert_child(sub, rel, index, new))
        t_in = self.insert_input(seq_path, index)
        out = self.shapes.infer_or_none(new, t_in)
        return out is not None and self.insert_type(seq_path, index, out)

    def insert_input(self, seq_path: str, index: int) -> TensorType:
        """The type a node inserted at `index` of a single-context seq receives."""
        entry = self.shapes.entries[seq_path]
        if index < len(entry.node.children):
            return self.shapes.entries[child_path(seq_path, index)].ins[0]
        return entry.outs[0]

    def insert_type(self, seq_path: str, index: int, out: TensorType) -> bool:
        """Is the tree valid if a node outputting `out` is inserted at `index` (single context)?"""
        try:
            seq_out = self._seq_from(seq_path, index, out)
        except ShapeError:
            return False
        return self.output_change(seq_path, seq_out)

    def remove(self, path: str) -> bool:
        """Is the tree valid without the node at `path` (a child of a seq or parallel)?"""
        entry = self.shapes.entries[path]
        parent = self.shapes.entries[entry.parent] if entry.parent else None
        if parent is None or len(parent.node.children) < 2:
            return False
        if not self.single(path):
            return self._slow(path, lambda sub, rel: replace_node(sub, rel, None))
        try:
            if parent.node.op == "seq":
                new_out = self._seq_from(entry.parent, entry.index + 1, entry.ins[0])
            else:
                trimmed = parent.node.model_copy(update={"children": [
                    c for i, c in enumerate(parent.node.children) if i != entry.index]})
                new_out = self.shapes.infer(trimmed, parent.ins[0])
        except ShapeError:
            return False
        return self.output_change(entry.parent, new_out)  # type: ignore[arg-type]

    # -- propagation ---------------------------------------------------------------
    def _seq_from(self, seq_path: str, start: int, t: TensorType) -> TensorType:
        """Output of the seq when child `start` receives `t`; stops early once types agree."""
        entries = self.shapes.entries
        seq = entries[seq_path]
        visited: list[tuple[str, int, TensorType]] = []
        result: TensorType | ShapeError | None = None
        for i in range(start, len(seq.node.children)):
            key = (seq_path, i, t)
            result = self._seq_memo.get(key)
            if result is not None:
                break
            visited.append(key)
            if t == entries[child_path(seq_path, i)].ins[0]:
                result = seq.outs[0]
                break
            try:
                t = self.shapes.infer(seq.node.children[i], t)
            except ShapeError as exc:
                result = exc
                break
        if result is None:
            result = t
        for key in visited:
            self._seq_memo[key] = result
        if isinstance(result, ShapeError):
            raise result
        return result

    def _parent_out(self, parent_path: str, index: int, child_out: TensorType) -> TensorType:
        """New output of a composite whose child `index` now outputs `child_out`."""
        parent = self.shapes.entries[parent_path]
        if parent.node.op == "seq":
            return self._seq_from(parent_path, index + 1, child_out)
        spec = self.shapes.ops.spec(parent.node.op)
        node = parent.node

        def child(i: int, t: TensorType) -> TensorType:
            if i == index and t == self.shapes.entries[child_path(parent_path, i)].ins[0]:
                return child_out
            if i == index:
                raise ShapeError("changed child sees a new input")  # only in multi-copy repeats
            return self.shapes.infer(node.children[i], t)

        return spec.shape(self.shapes.params(node), parent.ins[0], Children(child, len(node.children)))

    # -- slow path: re-infer the nearest single-context ancestor ---------------------
    def _anchor(self, path: str) -> str:
        while not self.single(path):
            parent = self.shapes.entries[path].parent
            assert parent is not None  # the root always has one context
            path = parent
        return path

    def _slow(self, path: str, change) -> bool:  # type: ignore[no-untyped-def]
        anchor = self._anchor(path)
        anchor_node = self.shapes.entries[anchor].node
        rel = ROOT + path[len(anchor):]
        try:
            new_sub = change(anchor_node, rel)
            out = self.shapes.infer(new_sub, self.shapes.entries[anchor].ins[0])
        except ShapeError:
            return False
        return self.output_change(anchor, out)
