"""Structured answers: the answer schema goes out as `response_format`; free text stays the fallback."""

import json

import pytest
from pydantic import BaseModel, ConfigDict, Field

from archlab.llm import FaultConfig, LLMClient, response_format, running_mock_server, schema_of
from archlab.llm.cassette import Cassette
from archlab.llm.response_format import check_schema, strict_ready, violations

GOAL = [{"role": "system", "content": "Answer with one JSON object."},
        {"role": "user", "content": 'archlab-task: planner\nGOAL:\n```json\n{"goal": "mnist1d under 20k params, beat 96%"}\n```'}]


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")  # as the agents' answers: an envelope is refused

    task: str | None = None
    max_params: int | None = Field(None, gt=0)
    target: float | None = None
    notes: list[str] = Field(default_factory=list, max_length=3)


class LoosePlan(BaseModel):
    """Fields the goal states; extra ones ignored (the mock's free-text plan has more)."""

    task: str | None = None
    max_params: int | None = None
    target: float | None = None


class Recorder(LLMClient):
    """The in-process mock, remembering each request's response_format."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.formats: list = []

    def _call(self, messages, response_format=None, max_tokens=None):
        self.formats.append(response_format)
        return super()._call(messages, response_format, max_tokens)


def reask(error: str) -> str:
    return f"Your answer was rejected: {error}. Answer again with one JSON object."


def http(server, **kwargs) -> LLMClient:
    return LLMClient("openai/mock", api_base=server.api_base, api_key="sk-dummy", backoff_s=0.01, timeout_s=5.0,
                     **kwargs)


def test_the_schema_sent_is_portable_strict_and_a_real_json_schema():
    schema = schema_of(Plan)
    check_schema(schema)
    assert schema["additionalProperties"] is False and set(schema["required"]) == {"task", "max_params", "target", "notes"}
    assert "title" not in json.dumps(schema) and "default" not in json.dumps(schema)
    assert schema["properties"]["max_params"]["anyOf"][0] == {"exclusiveMinimum": 0, "type": "integer"}
    wanted = response_format("Plan", schema)
    assert wanted["type"] == "json_schema" and wanted["json_schema"]["strict"] is True
    assert not strict_ready({"type": "object", "additionalProperties": True})  # an open dict cannot be strict


def test_mock_model_gets_the_schema_and_answers_within_it():
    client = Recorder("mock", seed=3)
    answer = client.ask("planner", "plan", GOAL, Plan, reask=reask)
    sent = client.formats[0]["json_schema"]["schema"]
    assert sent == schema_of(Plan) and not violations(json.loads(answer.text), sent)
    assert answer.value == Plan(task="mnist1d", max_params=20000, target=0.96, notes=answer.value.notes)
    assert client.usage.agents["planner"].structured == 1


@pytest.mark.parametrize("setting, sent", [("on", True), ("off", False), ("auto", True)])
def test_the_setting_decides_what_goes_out_and_the_answer_is_the_same(setting, sent):
    with running_mock_server() as server:
        client = http(server, structured=setting, seed=4)
        answer = client.ask("planner", "plan", GOAL, LoosePlan, reask=reask)
        served = server.served
    assert (served.get("structured", 0) == 1) is sent and served.get("schema_violations", 0) == 0
    in_process = LLMClient("mock", structured="off", seed=4).ask("planner", "plan", GOAL, LoosePlan, reask=reask)
    assert answer.value == in_process.value == LoosePlan(task="mnist1d", max_params=20000, target=0.96)
    assert client.usage.agents["planner"].structured == int(sent)


def test_auto_asks_litellm_for_hosted_models(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    assert LLMClient("openai/gpt-4o-mini").structured_answers  # litellm's model map says it takes a schema
    assert not LLMClient("openai/gpt-3.5-turbo").structured_answers
    assert LLMClient("ollama/llama3").structured_answers  # a self-hosted server kind
    assert not LLMClient("openai/gpt-4o-mini", structured="off").structured_answers


def test_a_malformed_schema_is_refused_like_a_provider_would_and_free_text_takes_over():
    broken = {"type": "object", "properties": {"task": {"type": "text"}}}
    with running_mock_server() as server:
        client = http(server, structured="on")
        with pytest.warns(UserWarning, match="refused structured answers"):
            first = client.ask("planner", "plan", GOAL, LoosePlan, reask=reask, json_schema=broken)
        second = client.ask("planner", "plan-2", GOAL, LoosePlan, reask=reask)
        served = server.served
    assert first.value is not None and second.value is not None  # both answered, as free text
    assert served["refused_400"] == 1 and served.get("structured", 0) == 0
    assert client.schema_refused and "not a JSON schema" in client.schema_refused
    row = client.usage.agents["planner"]
    assert row.faults == {"bad_request": 1} and row.fallbacks == 0 and row.structured == 0


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"choice": {"type": "string", "enum": ["E0", "E1"]}, "n": {"type": "txt"}}},
    {"type": "object", "properties": {"choice": {"enum": 3}}},
    {"dependentRequired": {"enum": ["a", "a"]}},  # a keyword's list of strings that must be distinct
    {"properties": {"enum": ["E0"]}},  # a property named enum: its value must be a schema
])
def test_a_malformed_schema_is_refused_whatever_its_enums_hold(schema):
    """The check is memoised by the schema without its enumerated words (the coder's schemas
    differ only in those); a schema broken anywhere is still refused, with its own error."""
    check_schema({"type": "object", "properties": {"choice": {"type": "string", "enum": ["E0", "E1", "E2"]}}})
    with pytest.raises(ValueError, match="not a JSON schema"):
        check_schema(schema)


def test_structured_answers_cannot_break_format_free_text_ones_are_reasked():
    """The `invalid` fault (a model wrapping its answer) only reaches free-text requests."""
    faults = FaultConfig(invalid=1.0)
    with running_mock_server(faults) as server:
        free = http(server, structured="off")
        free_answer = free.ask("planner", "plan", GOAL, Plan, reask=reask)
    with running_mock_server(faults) as server:
        strict = http(server, structured="on")
        strict_answer = strict.ask("planner", "plan", GOAL, Plan, reask=reask)
        assert server.fault_counts["invalid"] == 1 and server.served["structured"] == 1
    assert free_answer.fallback_used and free.usage.agents["planner"].faults == {"invalid": 2}
    assert strict_answer.value is not None and strict.usage.agents["planner"].reasks == 0


def test_the_cassette_records_the_format_and_old_cassettes_replay(tmp_path):
    tape = tmp_path / "cassette.jsonl"
    recorded = LLMClient("mock", cassette_path=tape, mode="record", seed=2).ask("planner", "plan", GOAL, Plan)
    line = json.loads(tape.read_text())
    assert line["response_format"]["json_schema"]["schema"] == schema_of(Plan)
    # A cassette of the earlier format: no response_format, transport errors named the old way.
    old = dict(line, response_format=None, attempts=2, retries=1,
               meta={"transport_errors": ["server: InternalServerError"]})
    old.pop("response_format")
    legacy = tmp_path / "old.jsonl"
    legacy.write_text(json.dumps(old) + "\n")
    assert Cassette(legacy).loaded == 1
    replay = LLMClient("mock", cassette_path=legacy, mode="replay")
    again = replay.ask("planner", "plan", GOAL, Plan)
    assert again.value == recorded.value
    row = replay.usage.agents["planner"]
    assert (row.structured, row.retries, row.faults) == (0, 1, {"server": 1})

