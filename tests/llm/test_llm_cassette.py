"""Cassettes: a recorded sequence of calls replays byte-identically with no model at all."""

import json

import pytest
from llm_helpers import Pick, ScriptedClient

from archlab.llm import CassetteMiss, LLMClient, TransportError

PLAN = [{"role": "user", "content": 'archlab-task: planner\nGOAL:\n```json\n{"goal": "mnist1d, at most 25k params"}\n```'}]
DIRECTION = [{"role": "user", "content": "archlab-task: planner-direction\nSUMMARY:\n```json\n{}\n```"}]


def reask(error: str) -> str:
    return f"rejected: {error}"


def _decisions(client: LLMClient) -> str:
    from pydantic import BaseModel

    class Plan(BaseModel):
        task: str | None
        max_params: int | None

    class Direction(BaseModel):
        text: str

    out = []
    for step in ("g0", "g1", "g2"):
        out.append(client.ask("planner", step, DIRECTION, Direction, reask=reask))
    out.append(client.ask("planner", "plan", PLAN, Plan, reask=reask))
    return json.dumps([a.value.model_dump() if a.value else None for a in out] + [client.usage.model_dump()],
                      sort_keys=True)


def test_replay_is_byte_identical_and_needs_no_model(tmp_path):
    tape = tmp_path / "cassette.jsonl"
    recorded = _decisions(LLMClient("mock", cassette_path=tape, mode="record", seed=5))
    before = tape.read_bytes()
    # A model string that could never be called: replay must not need it.
    replayed = _decisions(LLMClient("openai/not-reachable", cassette_path=tape, mode="replay", seed=5))
    assert replayed.replace("openai/not-reachable", "mock") == recorded
    assert tape.read_bytes() == before  # replay writes nothing
    lines = [json.loads(line) for line in before.decode().splitlines()]
    assert [line["step"] for line in lines] == ["g0", "g1", "g2", "plan"]
    assert {"agent", "step", "key", "messages", "response", "prompt_tokens", "completion_tokens"} <= set(lines[0])


def test_missing_request_names_agent_and_step(tmp_path):
    tape = tmp_path / "cassette.jsonl"
    LLMClient("mock", cassette_path=tape, mode="record").ask("planner", "plan", PLAN, Pick)
    replay = LLMClient("mock", cassette_path=tape, mode="replay")
    with pytest.raises(CassetteMiss) as info:
        replay.ask("coder", "e0007", PLAN, Pick)
    assert "agent 'coder' at step 'e0007'" in str(info.value) and "\n" not in str(info.value)


def test_reasks_retries_and_fallbacks_replay_the_same(tmp_path):
    tape = tmp_path / "cassette.jsonl"
    fault = TransportError("server: InternalServerError", retryable=True, kind="server")
    live = ScriptedClient([fault, "garbage", '{"choice": "E2", "score": 1}', "bad", "worse"],
                          cassette_path=tape, mode="record", sleep=lambda s: None)
    first = live.ask("coder", "e0001", PLAN, Pick, reask=reask)
    second = live.ask("coder", "e0002", PLAN, Pick, reask=reask)
    assert first.value.choice == "E2" and second.fallback_used
    replay = LLMClient("mock", cassette_path=tape, mode="replay")
    again = [replay.ask("coder", "e0001", PLAN, Pick, reask=reask), replay.ask("coder", "e0002", PLAN, Pick, reask=reask)]
    assert again[0].value == first.value and again[1].fallback_used
    assert replay.usage.agents["coder"] == live.usage.agents["coder"]


def test_record_mode_reuses_what_is_already_on_tape(tmp_path):
    """Resume: a re-run in record mode answers known requests from the tape, records new ones."""
    tape = tmp_path / "cassette.jsonl"
    ScriptedClient(['{"choice": "E1", "score": 1}'], cassette_path=tape, mode="record").ask("coder", "e1", PLAN, Pick)
    resumed = ScriptedClient(['{"choice": "E5", "score": 5}'], cassette_path=tape, mode="record")
    assert resumed.ask("coder", "e1", PLAN, Pick).value.choice == "E1"
    assert resumed.ask("coder", "e2", PLAN, Pick).value.choice == "E5"
    assert len(tape.read_text().splitlines()) == 2


def test_a_line_cut_by_a_crash_is_skipped_with_a_warning(tmp_path):
    tape = tmp_path / "cassette.jsonl"
    LLMClient("mock", cassette_path=tape, mode="record").ask("planner", "plan", PLAN, Pick)
    with tape.open("a") as handle:
        handle.write('{"agent": "coder", "step": "e00')
    with pytest.warns(UserWarning, match="skipping unreadable line 2"):
        replay = LLMClient("mock", cassette_path=tape, mode="replay")
    assert replay.cassette.loaded == 1
