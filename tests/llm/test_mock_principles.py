"""The mock coder reads the prompt's PRINCIPLES the way a real model would: it prefers menu
entries of the kinds they name, in their order, unless the evidence says those hurt; and the
prompt stays compact with them (bench_llm.py: <= ~1,500 tokens at 40 entries)."""

from __future__ import annotations

from collections import Counter

from archlab import tools
from archlab.agents import Coder, Direction
from archlab.knowledge import load_principles
from archlab.llm import LLMClient, mock
from archlab.tools import SizeBudget

SHAPE = (1, 40)


class Capture(LLMClient):
    """The in-process mock, remembering the last request."""

    def _call(self, messages, response_format=None, max_tokens=None):
        self.last = messages
        return super()._call(messages, response_format, max_tokens)


def _principles(*names: str) -> list[dict]:
    library = {p.name: p for p in load_principles()[0]}
    return [{"name": n, "edits": library[n].edits} for n in names]


def _menu() -> list:
    mlp = tools.seeds.mlp()
    menu = tools.legal_edits(mlp, SHAPE, macros=True, budget=SizeBudget(max_params=25_000, num_classes=10))
    kinds = {m.kind for m in menu}
    assert {"stem", "make_room"} <= kinds
    return menu


def _picks(principles: list[dict] | None, evidence: list[dict] | None = None, seeds: int = 60) -> Counter:
    menu = _menu()
    source = tools.render(tools.seeds.mlp(), SHAPE, 10)
    counts: Counter = Counter()
    for seed in range(seeds):
        coder = Coder(Capture("mock", seed=seed), max_menu=40)
        choice = coder.choose(source, menu, Direction(text="no preference"), evidence, fallback=menu[0].sample(
            __import__("random").Random(0)), step="e0002", principles=principles)
        assert choice.source == "model"
        counts[choice.edit.kind] += 1
    return counts


def test_the_mock_prefers_the_kinds_the_principles_name_in_their_order():
    plain = _picks(None)
    guided = _picks(_principles("conv-front", "make-room-under-a-cap"))
    assert guided["stem"] > 2 * max(1, plain["stem"])  # the first principle's first kind
    assert guided["stem"] > guided["make_room"]  # its order: stem first


def test_evidence_that_a_kind_hurt_overrides_the_principles():
    hurt = [{"kind": "stem", "edit": "stem root.0", "parent_val_accuracy": 0.7, "child_val_accuracy": 0.3}] * 4
    guided = _picks(_principles("conv-front"))
    warned = _picks(_principles("conv-front"), evidence=hurt)
    assert warned["stem"] < guided["stem"]


def test_principles_change_no_draw_when_they_do_not_tell_entries_apart():
    # a principle whose only kind is not on the menu: every entry weighs as before, same draws
    cells = [{"name": "cells", "edits": ["cell_edge (connect two nodes of a cell)"]}]
    assert _picks(cells, seeds=20) == _picks(None, seeds=20)


def test_the_coder_prompt_stays_compact_with_principles():
    menu = _menu()[:40]
    client = Capture("mock", seed=0)
    Coder(client, max_menu=40).choose(tools.render(tools.seeds.mlp(), SHAPE, 10), menu, Direction(text="favour stem"),
                                      [], menu[0].sample(__import__("random").Random(0)), step="e0002",
                                      principles=_principles("conv-front", "downsample-before-widening",
                                                             "make-room-under-a-cap"))
    prompt = mock.prompt_text(client.last)
    assert "PRINCIPLES" in prompt and "P1 conv-front: stem (" in prompt
    assert mock.count_tokens(prompt) <= 1500
