"""The coder: always a legal, filled edit from the menu; illegal answers are rejected and counted."""

import json
import random
from collections import Counter

import pytest
from agents_helpers import INPUT_SHAPE, ScriptedClient, fallback_edit

from archlab import tools
from archlab.agents import Coder, Direction
from archlab.llm import LLMClient


def _legal(edit, menu) -> bool:
    """Filled, taken from a menu entry, and applicable to a tree that still validates."""
    entry = next((e for e in menu if (e.kind, e.path) == (edit.kind, edit.path)
                  and all(edit.fixed.get(k) == v for k, v in e.fixed.items())), None)
    if entry is None or not edit.is_filled or set(edit.fixed) != set(entry.fixed) | set(entry.free):
        return False
    child = tools.apply(tools.seeds.mnist1d_cnn(), edit)
    return tools.validate(child, INPUT_SHAPE) == []


def test_mock_choice_is_a_legal_filled_menu_edit(menu, parent_source):
    coder = Coder(LLMClient("mock", seed=1))
    choice = coder.choose(parent_source, menu, Direction(text="explore"), [], fallback_edit(menu), step="e0001")
    assert choice.source == "model" and choice.menu_id.startswith("E")
    assert _legal(choice.edit, menu)
    assert coder.client.usage.agents["coder"].fallbacks == 0


def test_choices_are_deterministic_and_seeded(menu, parent_source):
    def pick(seed):
        return Coder(LLMClient("mock", seed=seed)).choose(parent_source, menu, None, [], fallback_edit(menu)).edit

    assert pick(4) == pick(4)
    assert len({pick(s).model_dump_json() for s in range(8)}) > 3


def _kind_counts(menu, source, memories, seeds=40):
    counts = Counter()
    for seed in range(seeds):
        coder = Coder(LLMClient("mock", seed=seed))
        counts[coder.choose(source, menu, None, memories, fallback_edit(menu)).edit.kind] += 1
    return counts


def test_evidence_steers_the_mock_towards_edits_that_helped(menu, parent_source):
    small = [e for e in menu if e.kind == "insert"][:10] + [e for e in menu if e.kind == "wrap_residual"]
    memories = [
        {"id": "e0004", "edit": "wrap_residual at root.2", "val_accuracy": 0.93, "parent_val_accuracy": 0.88},
        {"id": "e0005", "edit": "insert at root.1 op=pool", "val_accuracy": 0.81, "parent_val_accuracy": 0.88},
    ]
    blind = _kind_counts(small, parent_source, [])
    informed = _kind_counts(small, parent_source, memories)
    assert informed["wrap_residual"] >= blind["wrap_residual"] + 8


def test_illegal_answers_are_rejected_counted_and_replaced_by_the_fallback(menu, parent_source):
    entry = menu.index(next(e for e in menu if e.free))
    name, domain = next(iter(menu[entry].free.items()))
    bad_value = "not-in-domain" if domain.values else (domain.high or 0) + 1000
    script = [json.dumps({"choice": "E999", "params": {}, "rationale": "off menu"}),
              json.dumps({"choice": f"E{entry}", "params": {name: bad_value}, "rationale": "off domain"})]
    client = ScriptedClient(script)
    fallback = fallback_edit(menu)
    choice = Coder(client, max_menu=len(menu)).choose(parent_source, menu, None, [], fallback)
    assert choice.source == "fallback" and choice.edit == fallback
    usage = client.usage.agents["coder"]
    assert (usage.rejected, usage.reasks, usage.fallbacks) == (2, 1, 1)


def test_every_accepted_answer_is_legal_whatever_the_model_says(menu, parent_source):
    """A model that answers at random (often illegally): 100% of accepted edits are legal."""
    rng = random.Random(0)

    def noisy_answer() -> str:
        index = rng.randrange(len(menu) + 5)
        entry = menu[index] if index < len(menu) else menu[0]
        params = {}
        for pname, d in entry.free.items():
            params[pname] = d.sample(rng) if rng.random() < 0.7 else rng.choice([-1, 10**6, "x", None])
        if rng.random() < 0.1:
            params["bogus"] = 1
        return json.dumps({"choice": f"E{index}", "params": params})

    script = [noisy_answer() for _ in range(120)]
    client = ScriptedClient(script)
    coder = Coder(client, max_menu=len(menu))
    fallback = fallback_edit(menu)
    accepted = 0
    while len(client.script) >= 2:
        choice = coder.choose(parent_source, menu, None, [], fallback)
        if choice.source == "model":
            accepted += 1
            assert _legal(choice.edit, menu)
        else:
            assert choice.edit == fallback
    usage = client.usage.agents["coder"]
    assert accepted > 20 and usage.rejected > 10
    assert usage.calls == accepted + usage.fallbacks


def test_long_menus_are_shortened_for_the_prompt(menu, parent_source):
    client = LLMClient("mock")
    choice = Coder(client, max_menu=10).choose(parent_source, menu, None, [], fallback_edit(menu))
    assert int(choice.menu_id[1:]) < 10 and _legal(choice.edit, menu)
    assert client.usage.agents["coder"].last_prompt_tokens < 2500


def test_empty_menu_gives_the_fallback_without_a_call(parent_source, menu):
    client = LLMClient("mock")
    choice = Coder(client).choose(parent_source, [], None, [], fallback_edit(menu))
    assert choice.source == "fallback" and client.usage.agents == {}


def test_new_module_code_parses_and_mines_into_a_leaf_op(parent_source):
    coder = Coder(LLMClient("mock"))
    names = set()
    for step in range(6):
        proposal = coder.write_module(parent_source, direction=Direction(text="cheap channel mixing"), step=f"m{step}")
        report = tools.mine(source=proposal.code)
        assert not report.failures and [op.class_name for op in report.ops] == [proposal.name]
        names.add(proposal.name)
    assert len(names) >= 1


@pytest.mark.parametrize("code, reason", [
    ("def broken(:\n    pass\n" * 3, "does not parse"),
    ("import torch\n\nclass Block:\n    def forward(self, x):\n        return x\n", "must subclass nn.Module"),
])
def test_module_answers_that_are_not_a_module_are_refused(parent_source, code, reason):
    answer = json.dumps({"name": "Block", "code": code})
    client = ScriptedClient([answer, answer])
    assert Coder(client).write_module(parent_source) is None
    assert client.usage.agents["coder"].fallbacks == 1
