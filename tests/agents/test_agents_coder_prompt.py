"""The coder's compact menu: shown once, exact as data, and the mock chooses as it did from the v1 prompt.

`data/coder_prompts_v1.json` was captured from the code before the compact menu: for each
case (menus of several kinds, with and without evidence, direction and constraints) the
sha256 of the v1 prompt and the mock model's answer for a few seeds.
"""

import hashlib
import json
import random
import re
from pathlib import Path

import pytest
from agents_helpers import INPUT_SHAPE
from hypothesis import given, settings
from hypothesis import strategies as st

from archlab import tools
from archlab.agents import Coder, Direction
from archlab.agents.menu_format import encode_value, menu_line, menu_lines
from archlab.llm import LLMClient, mock
from archlab.llm.mock.menu_lines import MenuLineError, parse_menu, parse_menu_line
from archlab.llm.mock.rng_key import describe, key_text
from archlab.llm.response_format import check_schema, violations
from archlab.tools.edits.model import Domain, Edit

V1 = json.loads((Path(__file__).parent / "data" / "coder_prompts_v1.json").read_text())


class Capture(LLMClient):
    """The in-process mock, remembering the messages of the last request."""

    def _call(self, messages, response_format=None, max_tokens=None):
        self.last, self.last_format = messages, response_format
        return super()._call(messages, response_format, max_tokens)


def _ask(case: dict, seed: int) -> Capture:
    menu = [Edit.model_validate(e) for e in case["menu"]]
    client = Capture("mock", seed=seed)
    direction = Direction.model_validate(case["direction"]) if case["direction"] else None
    Coder(client, max_menu=len(menu)).choose(V1["sources"][case["source"]], menu, direction, case["memories"],
                                             menu[0], step="e0009", constraints=case["constraints"])
    return client


def _row(index: int, edit: Edit) -> dict:
    """The v1 MENU JSON row of an entry (`op` first, as the line writes it)."""
    free = {k: list(d.values) if d.values is not None else {"type": d.type, "low": d.low, "high": d.high}
            for k, d in edit.free.items()}
    fixed = {k: v for k, v in edit.fixed.items() if k == "op"} | {k: v for k, v in edit.fixed.items() if k != "op"}
    return {"id": f"E{index}", "kind": edit.kind, "path": edit.path, "fixed": fixed, "free": free}


def _menus() -> list[list[Edit]]:
    cnn, mlp = tools.seeds.mnist1d_cnn(), tools.seeds.mlp()
    return [tools.legal_edits(cnn, INPUT_SHAPE), tools.legal_edits(mlp, (40,)),
            tools.legal_edits(cnn, INPUT_SHAPE, donor=mlp, kinds=["crossover"]),
            tools.legal_edits(tools.seeds.nb201(), (3, 32, 32)),
            [e.sample(random.Random(i)) for i, e in enumerate(tools.legal_edits(cnn, INPUT_SHAPE)) if e.free][:30]]


@pytest.mark.parametrize("case", V1["cases"], ids=[c["name"] for c in V1["cases"]])
def test_mock_chooses_from_the_compact_menu_exactly_as_from_the_v1_prompt(case):
    for seed, v1_answer in case["answers"].items():
        client = _ask(case, int(seed))
        assert hashlib.sha256(key_text(client.last).encode()).hexdigest() == case["v1_prompt_sha256"]
        assert json.loads(mock.reply(client.last, seed=int(seed))) == v1_answer


def test_the_menu_appears_once_and_the_prompt_is_short():
    case = next(c for c in V1["cases"] if c["name"] == "cnn-full-40")
    prompt = _ask(case, 0).last[1]["content"]
    assert "```json\n[\n{\"fixed\"" not in prompt and "MENU (" in prompt
    for i in range(40):
        assert len(re.findall(rf"^E{i}: ", prompt, re.MULTILINE)) == 1
    v1 = key_text(_ask(case, 0).last).split("\n", 2)[2]  # the same request in the v1 layout
    assert mock.count_tokens(prompt) < 1300 < 2 * 1300 < mock.count_tokens(v1)  # BPE: benchmarks/bench_llm.py


@pytest.mark.parametrize("which", range(5))
def test_every_real_menu_line_reads_back_as_its_entry(which):
    menu = _menus()[which]
    for i, edit in enumerate(menu):
        line = menu_line(i, edit)
        assert parse_menu_line(line) == _row(i, edit), line
        assert describe(_row(i, edit)) == edit.describe()  # the v1 line, for the mock's key


_words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                     st.none(), _words, st.sampled_from(["same", "0->1", "block:res_conv", "1", "true", "a b", "x,y",
                                                         "{", "}", "|", ";", "=", " in ", "E3:", "-", "..", ""]))
_values = st.one_of(_scalars, st.dictionaries(st.sampled_from(["op", "params", "children"]), _scalars, max_size=3),
                    st.lists(_scalars, max_size=3))
_names = st.one_of(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), _words.filter(bool))


@settings(max_examples=300, deadline=None)
@given(fixed=st.dictionaries(_names, _values, max_size=4),
       free=st.dictionaries(_names, st.one_of(st.lists(_scalars, min_size=1, max_size=5).map(lambda v: Domain(type="choice", values=v)),
                                              st.tuples(st.floats(-5, 5), st.floats(5, 10)).map(
                                                  lambda r: Domain(type="float", low=r[0], high=r[1]))), max_size=3),
       kind=st.sampled_from(["insert", "set_param", "crossover", "cell_edge"]),
       path=st.sampled_from(["root", "root.0", "root.2.body"]))
def test_any_entry_reads_back_exactly(fixed, free, kind, path):
    edit = Edit.model_construct(kind=kind, path=path, fixed=fixed, free=free)
    row = parse_menu_line(menu_line(7, edit))
    assert json.dumps(row) == json.dumps(_row(7, edit))  # values, types and key order


def test_values_are_bare_only_where_that_is_exact():
    assert [encode_value(v) for v in ["same", "0->1", "1", "true", "a b", 3, 0.5, True, None]] == \
        ["same", "0->1", '"1"', '"true"', '"a b"', "3", "0.5", "true", "null"]
    with pytest.raises(MenuLineError):
        parse_menu_line("E1: insert root.0 conv | kernel {3,5}")


def test_shared_value_sets_are_written_once_and_read_back():
    menu = _menus()[0][:12]
    lines = menu_lines(menu)
    sets = [line for line in lines if line.startswith("S")]
    assert sets and [line.split(":")[0] for line in lines[len(sets):]] == [f"E{i}" for i in range(12)]
    assert all(sum(line.count(s.split(" = ")[1]) for line in lines) == 1 for s in sets)
    assert parse_menu("MENU (entries):\n" + "\n".join(lines) + "\n\nEVIDENCE") == [_row(i, e) for i, e in enumerate(menu)]


def test_the_coder_asks_for_a_menu_id_and_typed_values_and_the_mock_answers_within_them():
    case = next(c for c in V1["cases"] if c["name"] == "ranges-and-odd-values")
    client = _ask(case, 1)
    schema = client.last_format["json_schema"]["schema"]
    check_schema(schema)
    assert client.last_format["json_schema"]["strict"] is True
    assert schema["properties"]["choice"]["enum"] == ["E0", "E1", "E2"]
    params = schema["properties"]["params"]["anyOf"]
    assert {"type": "number", "minimum": 0.0, "maximum": 0.5} in [v["properties"].get("p") for v in params]
    assert {"type": "integer", "minimum": 1, "maximum": 4} in [v["properties"].get("dilation") for v in params]
    answer = json.loads(mock.reply(client.last, seed=1))
    assert not violations(answer, schema)
    assert violations(dict(answer, choice="E9"), schema) and violations(dict(answer, params={"p": 0.9}), schema)


def test_every_agent_answer_of_the_mock_fits_the_schema_it_was_sent():
    from agents_helpers import cnn_menu, cnn_source
    from test_agents_session import run_session

    class Checking(Capture):
        def _call(self, messages, response_format=None, max_tokens=None):
            reply = super()._call(messages, response_format, max_tokens)
            assert response_format is not None
            assert not violations(json.loads(reply[0]), response_format["json_schema"]["schema"])
            return reply

    client = Checking("mock", seed=5)
    run_session(client, cnn_menu(), cnn_source())
    assert client.usage.totals()["structured"] == client.usage.totals()["calls"] > 10
