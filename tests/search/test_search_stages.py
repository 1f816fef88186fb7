"""Agentic coarse moves on sequence trees: the conv front grows in legal, in-cap steps."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from archlab import tools
from archlab.llm.mock.menu_choice import answer
from archlab.records import Constraints, Result
from archlab.search import SearchConfig, SearchStrategy, make_strategy
from archlab.search.stages import DEPTH, POOLS, conv_front, front_grown

SEQ_SHAPE = (1, 40)
CAP = 25_000


def params(arch: tools.Arch) -> int:
    return tools.count_params(tools.build(arch, SEQ_SHAPE, 10))


def score(arch: tools.Arch) -> float:
    """A made-up validation score: more conv layers score higher, hashed noise breaks ties."""
    noise = hashlib.sha256(tools.arch_hash(arch).encode()).digest()[0] / 2550
    return 0.6 + 0.1 * conv_front(arch)[1] + noise


def drive(backbone: SearchStrategy, steps: int) -> list:
    proposals = []
    for step in range(steps):
        p = backbone.propose(step)
        child = p.parent_arch if p.default is None else tools.apply(p.parent_arch, p.default)
        proposals.append((p, child))
        backbone.observe(f"e{step + 1:04d}", child, Result(status="ok", val_accuracy=score(child),
                                                          params=params(child)))
    return proposals


def agentic(seed: int = 0, **config) -> SearchStrategy:
    return make_strategy("agentic", seed, [tools.seeds.mlp()], SEQ_SHAPE, constraints=Constraints(max_params=CAP),
                         config=SearchConfig(**config), num_classes=10)


STAGE_WORDS = ("make room", "stem", "downsample", "deepen", "widen")


@pytest.fixture(scope="module")
def run() -> list:
    """One agentic run from the MLP seed (shared: proposals build and count many small trees)."""
    return drive(agentic(), 20)


def test_from_the_mlp_a_conv_front_is_grown_within_the_cap(run):
    children = [child for _, child in run]
    assert all(params(c) <= CAP for c in children)  # staged menus never offer a rejected candidate
    assert any(conv_front(c)[1] >= 1 for c in children[:4])  # a stem within the first few steps
    assert any(front_grown(c) for c in children)  # and a grown front soon after
    labels = " ".join(p.note for p, _ in run)
    assert all(word in labels for word in ("stem", "downsample", "deepen", "widen"))


def test_staged_menus_are_filled_legal_and_within_the_cap(run):
    staged = [p for p, _ in run if any(word in p.note for word in STAGE_WORDS)]
    assert len(staged) >= 4
    for p in staged[:4]:
        assert p.menu and all(m.is_filled for m in p.menu)
        for entry in p.menu[:8]:
            child = tools.apply(p.parent_arch, entry, SEQ_SHAPE)  # legal on the parent as offered
            assert params(child) <= CAP, entry.describe()


def test_the_general_search_takes_over_once_the_grown_front_is_widened(run):
    grown_at = next(i for i, (_, child) in enumerate(run) if front_grown(child))
    assert all(conv_front(c)[1] >= DEPTH and conv_front(c)[2] >= POOLS for _, c in run if front_grown(c))
    later = [p.note for p, _ in run[grown_at + 1:]]
    assert any("widen" in n for n in later)  # widening comes after the structure
    assert not any(word in later[-1] for word in STAGE_WORDS)  # and then the general search


def test_stages_off_and_vector_inputs_keep_the_plain_agentic_moves():
    off = drive(agentic(stages=False), 4)
    assert not any("stem" in p.note or "make room" in p.note for p, _ in off)
    flat = make_strategy("agentic", 0, [tools.seeds.mlp()], (40,), constraints=Constraints(max_params=CAP))
    for step in range(3):
        p = flat.propose(step)
        assert "stem" not in p.note and "make room" not in p.note
        child = p.parent_arch if p.default is None else tools.apply(p.parent_arch, p.default)
        flat.observe(f"e{step + 1:04d}", child, Result(status="ok", val_accuracy=0.5, params=1))


def test_mock_coder_leans_to_wider_entries_without_evidence():
    menu = [{"id": "E1", "kind": "insert", "path": "root.0", "fixed": {"op": "conv", "out_channels": 8}},
            {"id": "E2", "kind": "insert", "path": "root.0", "fixed": {"op": "conv", "out_channels": 128}}]
    prompt = "MENU\n```json\n" + json.dumps(menu) + "\n```\n"
    picks = [answer(prompt, random.Random(i))["choice"] for i in range(200)]
    assert picks.count("E2") > 2 * picks.count("E1") > 0
