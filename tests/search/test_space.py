"""MoveSpace: the hash of a child in a cell space, computed from the cell's params alone,
is the hash of the child's tree, and an illegal edit fails as it does on the tree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archlab import tools
from archlab.search.space import MoveSpace
from archlab.tools.ops.nb201 import OPS, format_cell

CELLS = st.lists(st.sampled_from(OPS), min_size=6, max_size=6).map(format_cell)


def _space(cell: str) -> tuple[MoveSpace, tools.Arch]:
    arch = tools.seeds.by_name(f"nb201:{cell}")
    return MoveSpace([arch], (3, 32, 32), None), arch


@settings(max_examples=60, deadline=None)
@given(CELLS)
def test_a_cell_childs_hash_is_the_hash_of_the_childs_tree(cell):
    space, arch = _space(cell)
    menu = space.legal(arch)
    assert len(menu) == 24  # six edges, four other ops each
    for edit in menu:
        assert space.child_hash(arch, edit) == tools.arch_hash(tools.apply(arch, edit))


def test_an_illegal_cell_edit_fails_as_it_does_on_the_tree():
    space, arch = _space(format_cell(("nor_conv_3x3",) * 6))
    legal = space.legal(arch)[0]
    same = legal.model_copy(update={"fixed": {**legal.fixed, "op": "nor_conv_3x3"}})
    bad_edge = legal.model_copy(update={"fixed": {**legal.fixed, "edge": "9<-9"}})
    for edit in (same, bad_edge):
        with pytest.raises(tools.EditError, match="failed"):
            MoveSpace.apply_listed(arch, edit)  # what the tree's way of hashing runs
        with pytest.raises(tools.EditError, match="failed"):
            space.child_hash(arch, edit)
