"""The design-principles library names moves exactly as the tools' menus do."""

from archlab.knowledge import load_principles
from archlab.tools import ALL_KINDS, MACRO_KINDS, legal_edits, seeds


def test_every_principle_names_menu_kinds_and_tensor_kinds():
    principles, _ = load_principles()
    for principle in principles:
        kinds = [edit.split()[0] for edit in principle.edits]
        assert kinds and set(kinds) <= set(ALL_KINDS), principle.name
        assert set(principle.applies_to) <= {"vector", "seq", "image", "tokens"}


def test_the_conv_front_moves_are_in_the_library_and_on_the_menus_it_targets():
    principles = {p.name: p for p in load_principles()[0]}
    front = principles["conv-front"]
    assert front.edits[0].split()[0] == "stem" and set(front.applies_to) == {"seq", "image"}
    named = {edit.split()[0] for p in principles.values() for edit in p.edits}
    assert set(MACRO_KINDS) <= named  # every macro move is realised by some principle
    for shape in [(1, 40), (1, 8, 8)]:
        assert any(e.kind == "stem" for e in legal_edits(seeds.mlp(), shape, macros=True))
    assert not any(e.kind == "stem" for e in legal_edits(seeds.mlp(), (12,), macros=True))
