"""Property-based tests (hypothesis): legal edits never break a tree.

The number of cases each property tries is in its name (hypothesis
`max_examples`; every case is a fresh random tree and edit chain).
"""

import random

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archlab.tools import (Arch, apply, arch_hash, build, legal_edits, load_rendered, render, validate)
from archlab.tools.ir import Node, iter_nodes

from tools_trees import INPUT_SHAPES, grow, random_tree, starter

_SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
seeds_ = st.integers(0, 2**31 - 1)
shapes_ = st.sampled_from(INPUT_SHAPES)


def _same_model(arch: Arch, shape: tuple[int, ...], seed: int) -> None:
    """build and the rendered file agree: parameter count and outputs for one seed."""
    torch.manual_seed(seed)
    built = build(arch, shape, 7).eval()
    torch.manual_seed(seed)
    rendered = load_rendered(render(arch, shape, 7)).build_model().eval()
    assert sum(p.numel() for p in built.parameters()) == sum(p.numel() for p in rendered.parameters())
    x = torch.randn(3, *shape)
    with torch.no_grad():
        assert torch.equal(built(x), rendered(x))


@settings(max_examples=30, **_SETTINGS)
@given(seed=seeds_, shape=shapes_, steps=st.integers(1, 50))
def test_edit_chains_of_1_to_50_stay_valid_compile_run_render_and_round_trip_30_cases(seed, shape, steps):
    rng = random.Random(seed)
    arch = starter(shape, rng)
    for _ in range(steps):
        menu = legal_edits(arch, shape, donor=starter(shape, rng))
        if sum(1 for _ in iter_nodes(arch.root)) > 50:  # keep the chain affordable: shrink big trees
            menu = [e for e in menu if e.kind == "remove"] or menu
        edit = rng.choice(menu).sample(rng)
        arch = apply(arch, edit)
        assert validate(arch, shape) == [], edit.describe()
    model = build(arch, shape, 7)
    assert model(torch.randn(2, *shape)).shape == (2, 7)
    again = Arch.model_validate_json(arch.model_dump_json())
    assert again == arch and arch_hash(again) == arch_hash(arch)
    _same_model(arch, shape, seed)


@settings(max_examples=40, **_SETTINGS)
@given(seed=seeds_, shape=shapes_, steps=st.integers(0, 25))
def test_render_rebuilds_the_same_module_40_cases(seed, shape, steps):
    _same_model(random_tree(seed, shape, steps), shape, seed)


@settings(max_examples=30, **_SETTINGS)
@given(seed=seeds_, shape=shapes_, steps=st.integers(0, 20))
def test_every_value_of_every_domain_gives_a_valid_tree_30_cases(seed, shape, steps):
    """Exact domains: pick an edit, then try *each* value of each free parameter."""
    rng = random.Random(seed)
    arch = random_tree(seed, shape, steps)
    menu = legal_edits(arch, shape, donor=starter(shape, rng))
    for edit in rng.sample(menu, min(6, len(menu))):
        for name, domain in edit.free.items():
            for value in domain.values or []:
                values = {k: (value if k == name else d.sample(rng)) for k, d in edit.free.items()}
                new = apply(arch, edit.fill(values))
                assert validate(new, shape) == [], edit.describe()


def _noisy(node: Node, rng: random.Random) -> Node:
    """The same computation, spelled differently: seq-of-one wrappers and identities."""
    children = [_noisy(c, rng) for c in node.children]
    if node.op == "seq" and rng.random() < 0.5:
        children.insert(rng.randrange(len(children) + 1), Node(op="identity"))
    node = node.model_copy(update={"children": children})
    return Node(op="seq", children=[node]) if rng.random() < 0.3 else node


@settings(max_examples=30, **_SETTINGS)
@given(seed=seeds_, shape=shapes_, steps=st.integers(0, 20))
def test_hash_is_blind_to_spelling_but_sees_real_changes_30_cases(seed, shape, steps):
    rng = random.Random(seed)
    arch = random_tree(seed, shape, steps)
    noisy = Arch(root=_noisy(arch.root, rng))
    assert validate(noisy, shape) == []
    assert arch_hash(noisy) == arch_hash(arch)
    changes = [e for e in legal_edits(arch, shape, kinds=["set_param"])
               if e.fixed["op"] not in ("dropout", "repeat")]
    if changes:
        changed = apply(arch, rng.choice(changes).sample(rng))
        assert arch_hash(changed) != arch_hash(arch)


@settings(max_examples=20, **_SETTINGS)
@given(seed=seeds_, shape=shapes_)
def test_menu_filters_return_exactly_the_matching_entries_20_cases(seed, shape):
    arch = random_tree(seed, shape, 8)
    full = legal_edits(arch, shape)
    paths = sorted({p for p, _ in iter_nodes(arch.root)})
    path = random.Random(seed).choice(paths)
    by_path = legal_edits(arch, shape, path=path)
    assert by_path == [e for e in full if e.path == path]
    assert legal_edits(arch, shape, kinds=["set_param", "remove"]) == [
        e for e in full if e.kind in ("set_param", "remove")]


def test_a_grown_tree_can_hold_every_edit_kind():
    """Sanity of the generator: chains really exercise all structural kinds."""
    rng = random.Random(3)
    kinds, ops = set(), set()
    arch = starter((1, 40), rng)
    for _ in range(40):
        menu = legal_edits(arch, (1, 40), donor=starter((1, 40), rng))
        kinds |= {e.kind for e in menu}
        arch = grow(arch, (1, 40), rng, 1)
        ops |= {n.op for _, n in iter_nodes(arch.root)}
    assert kinds >= {"insert", "remove", "replace", "set_param", "wrap_residual", "add_branch",
                     "swap_act", "swap_norm", "crossover"}
    assert ops >= {"repeat", "residual", "conv"}
