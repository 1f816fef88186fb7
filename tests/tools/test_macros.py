"""Macro moves and size budgets: one legal move from an MLP to a small CNN, within a cap.

Property tests (hypothesis) hold every macro entry to the menu's contract (every
domain value gives a valid tree) and every budgeted entry to its budget (every
filled value gives a child within it, by the closed-form count and by torch).
"""

import itertools
import random

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archlab.tools import (ALL_KINDS, EDIT_KINDS, MACRO_KINDS, Arch, EditError, Node, SizeBudget, apply, build,
                           count_params, legal_edits, mine, seeds, tree_params, validate, with_mined)
from archlab.tools.edits.budget import peel_to_box
from archlab.tools.edits.transform import transform
from archlab.tools.ir import iter_nodes

from test_render_mining_metrics import MINED_SOURCE
from tools_trees import INPUT_SHAPES, starter

_SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
seeds_ = st.integers(0, 2**31 - 1)
shapes_ = st.sampled_from(INPUT_SHAPES)
MNIST1D, IMAGE = (1, 40), (1, 8, 8)
CAP = SizeBudget(max_params=25_000, num_classes=10)


def _grow_with_macros(seed: int, shape: tuple[int, ...], steps: int) -> Arch:
    """A random tree grown by plain and macro edits (shrinking past 40 nodes)."""
    rng = random.Random(seed)
    arch = starter(shape, rng)
    for _ in range(steps):
        menu = legal_edits(arch, shape, macros=True)
        if sum(1 for _ in iter_nodes(arch.root)) > 40:
            menu = [e for e in menu if e.kind == "remove"] or menu
        arch = apply(arch, rng.choice(menu).sample(rng))
    return arch


def _conv_front_before_flatten(arch: Arch) -> bool:
    children = arch.root.children
    flat = next(i for i, c in enumerate(children) if c.op == "flatten")
    return any(n.op == "conv" for c in children[:flat] for _, n in iter_nodes(c))


def _every_filling(edit):
    names = list(edit.free)
    for combo in itertools.product(*(edit.free[n].values for n in names)):
        yield edit.fill(dict(zip(names, combo)))


# ---- the count every budget rests on ----------------------------------------------------------

@settings(max_examples=30, **_SETTINGS)
@given(seed=seeds_, shape=shapes_, steps=st.integers(0, 25))
def test_closed_form_parameter_count_equals_torch_30_cases(seed, shape, steps):
    arch = _grow_with_macros(seed, shape, steps)
    assert tree_params(arch, shape, 7) == count_params(build(arch, shape, 7))


def test_parameter_count_of_the_seeds_and_of_mined_trees():
    assert tree_params(seeds.mlp(), MNIST1D, 10) == 15_210
    assert tree_params(seeds.mnist1d_cnn(), MNIST1D, 10) == 5_210
    assert tree_params(seeds.nb201(), (3, 32, 32), 10) == count_params(build(seeds.nb201(), (3, 32, 32), 10))
    mined = with_mined(seeds.mnist1d_cnn(), *mine(source=MINED_SOURCE).ops)
    entry = next(e for e in legal_edits(mined, MNIST1D, kinds=["insert"]) if e.fixed["op"] == "mined.GatedConv")
    assert tree_params(apply(mined, entry.sample(random.Random(0))), MNIST1D, 10) is None  # only its code knows


# ---- the menu contract for macro entries -------------------------------------------------------

@settings(max_examples=25, **_SETTINGS)
@given(seed=seeds_, shape=shapes_, steps=st.integers(0, 20))
def test_every_value_of_every_macro_domain_gives_a_valid_tree_25_cases(seed, shape, steps):
    rng = random.Random(seed)
    arch = _grow_with_macros(seed, shape, steps)
    macros = legal_edits(arch, shape, kinds=MACRO_KINDS)
    for edit in rng.sample(macros, min(4, len(macros))):
        for name, domain in edit.free.items():
            for value in domain.values:
                values = {k: (value if k == name else d.sample(rng)) for k, d in edit.free.items()}
                new = apply(arch, edit.fill(values))
                assert validate(new, shape) == [], edit.describe()
    if macros:
        new = apply(arch, rng.choice(macros).sample(rng))
        assert build(new, shape, 7)(torch.randn(2, *shape)).shape == (2, 7)


@settings(max_examples=20, **_SETTINGS)
@given(seed=seeds_, shape=shapes_, steps=st.integers(0, 15), cap=st.integers(2_000, 60_000))
def test_every_filled_value_of_a_budgeted_menu_fits_the_budget_20_cases(seed, shape, steps, cap):
    rng = random.Random(seed)
    arch = _grow_with_macros(seed, shape, steps)
    budget = SizeBudget(max_params=cap, num_classes=7)
    menu = legal_edits(arch, shape, macros=True, budget=budget)
    for edit in rng.sample(menu, min(4, len(menu))):
        fillings = list(_every_filling(edit))
        for filled in rng.sample(fillings, min(12, len(fillings))):
            child = apply(arch, filled)  # a budgeted entry is also on the plain menu
            assert tree_params(child, shape, 7) <= cap, filled.describe()
        assert count_params(build(apply(arch, edit.sample(rng)), shape, 7)) <= cap
    # the budget only narrows: no fitting value of a one-parameter entry is lost
    kept = {f.model_dump_json() for e in menu for f in _every_filling(e)}
    single = [e for e in legal_edits(arch, shape, macros=True) if len(e.free) <= 1]
    for edit in rng.sample(single, min(6, len(single))):
        for filled in _every_filling(edit):
            fits = tree_params(Arch(root=transform(arch, filled), mined=arch.mined), shape, 7) <= cap
            assert fits == (filled.model_dump_json() in kept), filled.describe()


@settings(max_examples=15, **_SETTINGS)
@given(seed=seeds_, shape=shapes_, steps=st.integers(0, 15))
def test_macro_and_kind_filters_return_exactly_the_matching_entries_15_cases(seed, shape, steps):
    arch = _grow_with_macros(seed, shape, steps)
    full = legal_edits(arch, shape, macros=True)
    assert legal_edits(arch, shape) == [e for e in full if e.kind in EDIT_KINDS]
    assert legal_edits(arch, shape, kinds=ALL_KINDS) == full
    assert legal_edits(arch, shape, kinds=["stem", "widen"]) == [e for e in full if e.kind in ("stem", "widen")]
    path = random.Random(seed).choice(sorted({e.path for e in full}))
    assert legal_edits(arch, shape, macros=True, path=path) == [e for e in full if e.path == path]


# ---- what the moves do ---------------------------------------------------------------------------

def test_plain_menus_stay_as_they_were():
    assert not {e.kind for e in legal_edits(seeds.mlp(), MNIST1D)} & set(MACRO_KINDS)
    assert len(legal_edits(seeds.mlp(), MNIST1D)) == 64


@pytest.mark.parametrize("shape", [MNIST1D, IMAGE])
def test_one_stem_move_turns_the_mlp_into_a_cnn_within_the_cap(shape):
    stems = legal_edits(seeds.mlp(), shape, kinds=["stem"], budget=CAP)
    assert stems and all(e.path == "root.0" for e in stems)
    pools = {e.fixed["pool"] for e in stems}
    assert pools == ({1, 2, 4, 8} if shape == MNIST1D else {1, 2, 4})
    for stem in stems:
        assert max(stem.free["out_channels"].values) >= 32  # sized: room made for a real conv front
        for filled in _every_filling(stem):
            child = apply(seeds.mlp(), filled)
            assert _conv_front_before_flatten(child)
            assert tree_params(child, shape, 10) <= 25_000
    # without the stem's own make-room, a conv this wide over the whole input breaks the cap
    wide = apply(seeds.mlp(), legal_edits(seeds.mlp(), shape, kinds=["stem"])[0].fill(
        {"out_channels": 32, "kernel": 3, "hidden": 100}))
    assert tree_params(wide, shape, 10) > 25_000


def test_stem_sizes_the_linear_after_the_flatten():
    stem = next(e for e in legal_edits(seeds.mlp(), MNIST1D, kinds=["stem"], budget=CAP) if e.fixed["pool"] == 4)
    assert stem.describe() == ("stem root.0 conv pool=4 room=root.1 hidden=48 "
                               "out_channels in {8,16,24,32} kernel in {3,5,7}")
    child = apply(seeds.mlp(), stem.fill({"out_channels": 32, "kernel": 5}))
    front, flat, dense = child.root.children[:3]
    assert [n.op for n in front.children] == ["conv", "norm", "act", "pool"]
    assert front.children[3].params == {"mode": "max", "kernel": 4}
    assert flat.op == "flatten" and dense.params["out_features"] == 48
    assert build(child, MNIST1D, 10)(torch.randn(2, *MNIST1D)).shape == (2, 10)


def test_follow_up_moves_grow_the_front_and_stay_in_the_cap():
    stem = next(e for e in legal_edits(seeds.mlp(), MNIST1D, kinds=["stem"], budget=CAP) if e.fixed["pool"] == 2)
    arch = apply(seeds.mlp(), stem.fill({"out_channels": 16, "kernel": 3}))  # front: 16 channels at length 20
    menu = legal_edits(arch, MNIST1D, macros=True, budget=CAP)
    kinds = {e.kind for e in menu}
    assert "stem" not in kinds and {"deepen", "downsample", "widen", "make_room"} <= kinds
    down = next(e for e in menu if e.kind == "downsample")
    assert down.path == "root.1" and down.free["kernel"].values == [2, 3, 4]
    smaller = apply(arch, down.fill({"kernel": 2, "mode": "max"}))
    assert tree_params(smaller, MNIST1D, 10) < tree_params(arch, MNIST1D, 10)
    deeper = next(e for e in menu if e.kind == "deepen" and e.fixed["op"] == "conv")
    assert deeper.path == "root.1" and deeper.fixed["pool"] in (1, 2)
    widen = next(e for e in menu if e.kind == "widen" and e.path == "root.0.0")
    assert widen.describe().startswith("widen root.0.0 conv.out_channels in {24")
    assert all(v > 16 for v in widen.free["out_channels"].values)
    room = next(e for e in menu if e.kind == "make_room" and e.path == "root.2")
    current = arch.root.children[2].params["out_features"]
    assert all(v < current for v in room.free["out_features"].values)


def test_feature_vectors_get_dense_moves_only():
    menu = legal_edits(seeds.mlp(), (12,), kinds=MACRO_KINDS)
    assert {e.kind for e in menu} == {"deepen", "widen", "make_room"}
    deepen = next(e for e in menu if e.kind == "deepen")
    child = apply(seeds.mlp(), deepen.fill({"out_features": 32}))
    assert [n.op for n in child.root.children[-1].children] == ["linear", "act"]


def test_a_conv_tree_without_flatten_grows_before_the_automatic_head():
    arch = Arch(root=Node(op="seq", children=[Node(op="conv", params={"out_channels": 8}), Node(op="act")]))
    menu = legal_edits(arch, IMAGE, kinds=["deepen", "downsample", "stem"])
    assert {(e.kind, e.path) for e in menu} == {("deepen", "root.2"), ("downsample", "root.2")}


def test_apply_accepts_sized_entries_and_refuses_values_off_the_menu():
    sized = legal_edits(seeds.mlp(), MNIST1D, kinds=["stem"], budget=CAP)[0]
    apply(seeds.mlp(), sized.fill({"out_channels": 8, "kernel": 3}), MNIST1D)
    plain = legal_edits(seeds.mlp(), MNIST1D, kinds=["stem"])[0]
    bad = plain.model_copy(update={"fixed": {**plain.fixed, "out_channels": 8, "kernel": 3, "hidden": 100,
                                             "room": "root.3"}, "free": {}})
    with pytest.raises(EditError, match="not on the legal menu"):
        apply(seeds.mlp(), bad)
    with pytest.raises(EditError, match="outside its domain"):
        plain.fill({"out_channels": 8, "kernel": 3, "hidden": 128})


def test_bad_budgets_and_kinds_are_refused_in_one_line():
    with pytest.raises(EditError, match="unknown edit kind 'grow'.*make_room"):
        legal_edits(seeds.mlp(), MNIST1D, kinds=["grow"])
    with pytest.raises(EditError, match="budget must be a SizeBudget"):
        legal_edits(seeds.mlp(), MNIST1D, budget={"max_params": 10})
    with pytest.raises(ValueError):
        SizeBudget(max_params=0, num_classes=10)


def test_a_budget_smaller_than_the_tree_leaves_only_moves_that_shrink_it():
    menu = legal_edits(seeds.mlp(), MNIST1D, macros=True, budget=SizeBudget(max_params=12_000, num_classes=10))
    assert menu and all(tree_params(apply(seeds.mlp(), e.sample(random.Random(0))), MNIST1D, 10) <= 12_000
                        for e in menu)
    assert {e.kind for e in menu} <= {"remove", "set_param", "make_room", "stem", "replace", "insert"}


def test_budget_peels_the_failing_corner_of_a_box():
    names = ["width", "kernel"]
    values = {"width": [8, 16, 32], "kernel": [3, 5, 7]}
    ok = {(w, k): w * k <= 80 for w in values["width"] for k in values["kernel"]}
    assert peel_to_box(names, values, ok) == {"width": [8, 16], "kernel": [3, 5]}
    assert peel_to_box(names, values, {c: False for c in ok}) is None
