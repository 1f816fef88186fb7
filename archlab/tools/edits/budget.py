"""A size budget for the menu: only entries whose every filled value gives a child within it.

Why: under a parameter cap most structural edits of a small tree break the cap
(a conv before a flatten multiplies the width of the next Linear), and a search
that draws such an edit wastes an evaluation on a candidate that is refused
untrained. With a budget, `legal_edits` narrows each entry's domains to values
whose children fit (and sizes the macro moves to fit), so every strategy draws
from moves that can actually be evaluated. Parameters are counted in closed form
(`tools/params.py`), without building modules.

Domains stay independent: an entry is kept only in a form where *every*
combination of its free values fits. When some combinations do not, values are
peeled off one at a time (the one in the largest share of failing combinations
first; on ties the later one in its domain, i.e. the larger width) until the rest is a box that fits; an entry with
no such box is dropped. A tree with a mined op is counted without it (a lower
bound), so only children that certainly break the cap are dropped.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from archlab.tools.ir import ROOT, Arch, Node, parent_of
from archlab.tools.params import ParamCounter
from archlab.tools.shapes import Shapes

from archlab.tools.edits.model import Domain, Edit, trusted_model
from archlab.tools.edits.transform import change_of, new_node, perform

MAX_COMBINATIONS = 512  # an entry with more filled variants than this is dropped under a budget


class SizeBudget(BaseModel):
    """The largest model a menu may lead to: `max_params` parameters, classifier head for
    `num_classes` included (the head is part of every compiled model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_params: int = Field(ge=1)
    num_classes: int = Field(ge=1)


class BudgetCheck:
    """Judges children of one tree against one budget (counts memoised across the whole menu)."""

    def __init__(self, shapes: Shapes, budget: SizeBudget) -> None:
        self.arch: Arch = shapes.arch
        self.shapes = shapes
        self.budget = budget
        self.counter = ParamCounter(shapes)
        # Insert entries at many places offer the same new nodes: build each once (its
        # parameters on an input type are then memoised by the counter).
        self._inserted: dict[tuple[tuple[str, str], ...], Node] = {}

    def replaced_params(self, path: str, new: Node) -> int:
        """Parameters of the model with the single-context node at `path` replaced by `new`."""
        return self.counter.after_replace(path, new, self.budget.num_classes)

    def fits(self, entry: Edit, values: dict[str, Any]) -> bool:
        """Whether `entry` filled with `values` (a listed, legal choice) gives a child within budget."""
        fixed = {**entry.fixed, **values}
        if entry.kind == "insert":
            seq_path, index = parent_of(entry.path)
            if self._single(seq_path):
                return self.counter.after_insert(seq_path, index, self._insert_node(fixed),
                                                 self.budget.num_classes) <= self.budget.max_params
        filled = trusted_model(Edit, kind=entry.kind, path=entry.path, fixed=fixed, free={},
                               input_shape=entry.input_shape)
        return self.child_params(filled) <= self.budget.max_params

    def _insert_node(self, fixed: dict[str, Any]) -> Node:
        key = tuple(sorted((k, repr(v)) for k, v in fixed.items()))  # repr: 1, 1.0 and True differ
        node = self._inserted.get(key)
        if node is None:
            node = self._inserted[key] = new_node(fixed)
        return node

    def child_params(self, filled: Edit) -> int:
        """Parameters of the child `filled` makes (a lower bound if it holds a mined op), counted
        from the changed place where it is inferred once, else over the whole child."""
        change = change_of(self.arch.root, filled)
        classes = self.budget.num_classes
        if change.action == "replace" and self._single(change.path):
            return self.counter.after_replace(change.path, change.node, classes)  # type: ignore[arg-type]
        parent = parent_of(change.path)[0] if change.path != ROOT else None
        if parent is not None and self._single(parent) and self.shapes.entries[parent].node.op == "seq":
            if change.action == "insert":
                return self.counter.after_insert(parent, parent_of(change.path)[1], change.node, classes)  # type: ignore[arg-type]
            if change.action == "remove":
                return self.counter.after_remove(change.path, classes)
        return self.counter.model(perform(self.arch.root, change), classes)[0]

    def _single(self, path: str) -> bool:
        entry = self.shapes.entries.get(path)
        return entry is not None and len(entry.ins) == 1

    def restrict(self, entry: Edit, domain: Callable[[list[Any]], Domain]) -> Edit | None:
        """`entry` with domains narrowed so every filled value fits; None when nothing does."""
        if entry.is_filled:
            return entry if self.fits(entry, {}) else None
        names = list(entry.free)
        values = {name: entry.free[name].values for name in names}
        if any(v is None for v in values.values()):
            return None  # a range domain cannot be checked value by value
        size = 1
        for v in values.values():
            size *= len(v)  # type: ignore[arg-type]
        if size > MAX_COMBINATIONS:
            return None
        ok = {combo: self.fits(entry, dict(zip(names, combo)))
              for combo in itertools.product(*(values[n] for n in names))}  # type: ignore[misc]
        kept = peel_to_box(names, {n: list(values[n]) for n in names}, ok)  # type: ignore[arg-type]
        if kept is None:
            return None
        if all(len(kept[n]) == len(values[n]) for n in names):  # type: ignore[arg-type]
            return entry
        return trusted_model(Edit, kind=entry.kind, path=entry.path, fixed=entry.fixed,
                             free={n: domain(kept[n]) for n in names}, input_shape=entry.input_shape)


def peel_to_box(names: list[str], values: dict[str, list[Any]],
                ok: dict[tuple[Any, ...], bool]) -> dict[str, list[Any]] | None:
    """The largest-first peeling of `values` until every combination is ok (see module docstring)."""
    values = {n: list(v) for n, v in values.items()}
    while True:
        combos = list(itertools.product(*(values[n] for n in names)))
        failing = [c for c in combos if not ok[c]]
        if not failing:
            return values
        best: tuple[float, int, int] | None = None
        pick: tuple[str, Any] | None = None
        for axis, name in enumerate(names):
            if len(values[name]) < 2:
                continue
            for rank, value in enumerate(values[name]):
                share = sum(1 for c in failing if c[axis] == value) / (len(combos) / len(values[name]))
                key = (share, rank, -axis)
                if best is None or key > best:
                    best, pick = key, (name, value)
        if pick is None:
            return None
        values[pick[0]].remove(pick[1])
