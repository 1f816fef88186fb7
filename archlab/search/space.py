"""The moves a search may make, and which structures it has already paid for.

Shared by every strategy, so random, evolution and agentic draw from one move set: the
legal menu of a tree (memoised: enumeration is pure), the structural hash of the child an
edit makes (memoised), and the set of structures seen or claimed, so no strategy offers a
structure twice. On trees the menu holds the macro moves too (stem, downsample, deepen,
widen, make_room: the coarse steps that build a convolutional front in one move) and,
under a parameter cap, only entries whose every value gives a child within it
(`tools.SizeBudget`). A closed cell space (every seed is one node of a cell-space op) is
recognised here from the op table, never by a benchmark's name: there the only moves are
the space's own edit kind, as before.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from typing import Any

from archlab import tools
from archlab.tools import Arch, CellSpace, Edit, SizeBudget
from archlab.tools.ir import ROOT


class MoveSpace:
    """Legal menus, children's hashes and the structures seen, for one search."""

    def __init__(self, seeds: list[Arch], input_shape: tuple[int, ...], kinds: list[str] | None,
                 budget: SizeBudget | None = None) -> None:
        self.input_shape = tuple(input_shape)
        spaces = {tools.cell_space(arch) for arch in seeds}
        # A cell search space is closed under its own edits only: other edits would leave the
        # space (a lookup table answers only inside it).
        self.cell: CellSpace | None = next(iter(spaces)) if len(spaces) == 1 else None
        self.kinds = kinds or ([self.cell.edit_kind] if self.cell is not None else None)
        # Trees: plain and macro moves, narrowed to the cap. A cell space: its menus as ever.
        self.macros = self.cell is None
        self.budget = budget if self.cell is None else None
        self.duplicates_avoided = 0  # draws redone because they gave a structure already seen
        self._seen: set[str] = set()  # structures observed, claimed or already proposed as a default
        self._menus: dict[str, list[Edit]] = {}  # arch JSON -> legal menu
        self._children: dict[tuple[str, str], str] = {}  # (arch JSON, edit JSON) -> child hash
        self._cell_hashes: dict[Hashable, str] = {}  # a cell's params -> its hash

    def legal(self, arch: Arch, donor: Arch | None = None, kinds: list[str] | None = None) -> list[Edit]:
        """The legal menu of `arch` (with a crossover donor: not memoised)."""
        allowed = kinds or self.kinds
        if donor is not None:
            return tools.legal_edits(arch, self.input_shape, donor=donor, kinds=allowed, macros=self.macros,
                                     budget=self.budget)
        key = arch.model_dump_json()  # not the hash: equivalent cells have different menus
        if key not in self._menus:
            self._menus[key] = tools.legal_edits(arch, self.input_shape, kinds=allowed, macros=self.macros,
                                                 budget=self.budget)
        return self._menus[key]

    def child_hash(self, arch: Arch, edit: Edit) -> str:
        """The structural hash of `edit` (an entry of `arch`'s menu, or a sample of one) on `arch`."""
        if self._in_cell_space(arch, edit):
            return self._cell_child_hash(arch, edit)
        key = (arch.model_dump_json(), edit.model_dump_json())
        if key not in self._children:
            self._children[key] = tools.arch_hash(self.apply_listed(arch, edit))
        return self._children[key]

    def _in_cell_space(self, arch: Arch, edit: Edit) -> bool:
        """Whether `edit` is the cell space's own edit of a cell that is `arch` whole."""
        return (self.cell is not None and edit.kind == self.cell.edit_kind and edit.path == ROOT
                and not arch.mined and tools.cell_space(arch) is self.cell)

    def _cell_child_hash(self, arch: Arch, edit: Edit) -> str:
        """`child_hash` in a cell space, from the cell's params alone: a local search hashes
        every neighbour of each restart, and building each child's tree to hash it was a fifth
        of an agentic campaign's search loop on a lookup table. The same hash as the child's
        tree (tests/search/test_space.py checks both ways agree on every neighbour)."""
        assert self.cell is not None
        try:
            params = self.cell.with_choice(arch.root.params, edit.fixed.get(self.cell.slot_param),
                                           edit.fixed.get(self.cell.choice_param))
        except tools.ArchError as exc:
            raise tools.EditError.failed(edit.kind, edit.path, exc) from None
        key = _params_key(params)
        if key not in self._cell_hashes:
            child = arch.model_copy(update={"root": arch.root.model_copy(update={"params": params})})
            self._cell_hashes[key] = tools.arch_hash(child)
        return self._cell_hashes[key]

    @staticmethod
    def apply_listed(arch: Arch, edit: Edit) -> Arch:
        """`tools.apply` for an entry of `arch`'s own legal menu (or a sample of one): its
        legality is known, so the menu is not enumerated again to check it (that check cost
        more than everything else a strategy does). The child is the same tree."""
        return tools.apply(arch, edit if edit.input_shape is None else edit.model_copy(update={"input_shape": None}))

    def fresh(self, arch: Arch, edit: Edit) -> bool:
        """Whether `edit` on `arch` gives a structure not seen yet."""
        return self.child_hash(arch, edit) not in self._seen

    def unseen(self, arch: Arch) -> bool:
        return tools.arch_hash(arch) not in self._seen

    def claim_edit(self, arch: Arch, edit: Edit) -> None:
        self._seen.add(self.child_hash(arch, edit))

    def see(self, arch_hash: str) -> None:
        self._seen.add(arch_hash)


def _params_key(params: Mapping[str, Any]) -> Hashable:
    """A dict key for a cell's params: their items with their types (1, 1.0 and True differ
    as params), else their JSON."""
    try:
        return frozenset((name, type(value), value) for name, value in params.items())
    except TypeError:  # a list or dict among the values
        return json.dumps(params, sort_keys=True, separators=(",", ":"))
