"""The client: structured answers, retries, one re-ask, fallbacks, accounting and the spend cap."""

import json
import threading

import pytest

from archlab.llm import FAULT_KINDS, LLMClient, SpendCap, SpendExceeded, TransportError
from archlab.llm.accounting import UsageReport
from llm_helpers import Pick
from pydantic import BaseModel

MESSAGES = [{"role": "user", "content": "pick one"}]


def reask(error: str) -> str:
    return f"rejected: {error}"


def test_valid_answer_is_returned_and_counted(scripted):
    client = scripted(['{"choice": "E1", "score": 2}'])
    answer = client.ask("coder", "e0001", MESSAGES, Pick, reask=reask)
    assert answer.value == Pick(choice="E1", score=2) and not answer.fallback_used
    row = client.usage.agents["coder"]
    assert (row.calls, row.requests, row.retries, row.reasks, row.fallbacks) == (1, 1, 0, 0, 0)
    assert (row.prompt_tokens, row.completion_tokens) == (10, 5)


def test_invalid_answer_gets_one_reask_quoting_the_error(scripted):
    client = scripted(['{"choice": "E1"}', '{"choice": "E1", "score": 4}'])
    answer = client.ask("coder", "e0001", MESSAGES, Pick, reask=reask)
    assert answer.value.score == 4
    followup = client.seen[1]
    assert followup[-2] == {"role": "assistant", "content": '{"choice": "E1"}'}
    assert followup[-1]["content"].startswith("rejected: score")
    row = client.usage.agents["coder"]
    assert (row.reasks, row.rejected, row.fallbacks) == (1, 1, 0)


def test_two_invalid_answers_end_in_the_fallback(scripted):
    client = scripted(["no idea", '{"choice": 3}'])
    answer = client.ask("coder", "e0001", MESSAGES, Pick, reask=reask)
    assert answer.value is None and answer.fallback_used
    assert len(answer.errors) == 2 and all("\n" not in e for e in answer.errors)
    row = client.usage.agents["coder"]
    assert (row.requests, row.reasks, row.rejected, row.fallbacks) == (2, 1, 2, 1)


def test_check_refuses_well_formed_but_wrong_answers(scripted):
    def on_menu(value: Pick) -> None:
        if value.choice not in ("E0", "E1"):
            raise ValueError(f"choice {value.choice} is not on the menu")

    client = scripted(['{"choice": "E9", "score": 1}', '{"choice": "E0", "score": 1}'])
    answer = client.ask("coder", "s", MESSAGES, Pick, check=on_menu, reask=reask)
    assert answer.value.choice == "E0"
    assert "E9 is not on the menu" in client.seen[1][-1]["content"]


def test_transient_failures_are_retried_with_backoff(scripted, transient):
    sleeps = []
    client = scripted([transient(), transient(), '{"choice": "E1", "score": 1}'],
                      max_retries=3, backoff_s=0.1, sleep=sleeps.append)
    answer = client.ask("planner", "plan", MESSAGES, Pick, reask=reask)
    assert answer.value is not None
    assert client.usage.agents["planner"].retries == 2
    assert len(sleeps) == 2 and 0.05 <= sleeps[0] <= 0.15 and 0.1 <= sleeps[1] <= 0.3  # 2^n with jitter


def test_exhausted_retries_give_the_fallback_not_an_exception(scripted, transient):
    client = scripted([transient() for _ in range(3)], max_retries=2, sleep=lambda s: None)
    answer = client.ask("planner", "plan", MESSAGES, Pick, reask=reask)
    assert answer.fallback_used and client.usage.agents["planner"].fallbacks == 1
    assert client.usage.agents["planner"].retries == 2


def test_permanent_failure_is_not_retried(scripted):
    fatal = TransportError("AuthenticationError: bad key", retryable=False, kind="other")
    client = scripted([fatal], max_retries=5, sleep=lambda s: None)
    answer = client.ask("planner", "plan", MESSAGES, Pick, reask=reask)
    assert answer.fallback_used and client.usage.agents["planner"].requests == 1


def test_spend_cap_stops_new_calls_cleanly(scripted):
    client = scripted(['{"choice": "E1", "score": 1}'] * 5, cap=SpendCap(max_tokens=20))
    client.ask("coder", "a", MESSAGES, Pick)  # 15 tokens
    client.ask("coder", "b", MESSAGES, Pick)  # 30 tokens: over the cap now
    with pytest.raises(SpendExceeded) as info:
        client.ask("coder", "c", MESSAGES, Pick)
    assert "30 tokens >= 20" in str(info.value) and "coder at c" in str(info.value)
    assert len(client.seen) == 2  # no request was sent for the third call


def test_dollar_cap(scripted):
    client = scripted(['{"choice": "E1", "score": 1}'] * 3, cap=SpendCap(max_cost_usd=0.0015))
    client.ask("coder", "a", MESSAGES, Pick)
    client.ask("coder", "b", MESSAGES, Pick)
    with pytest.raises(SpendExceeded):
        client.ask("coder", "c", MESSAGES, Pick)


def test_usage_round_trips_and_carries_over(tmp_path, scripted):
    client = scripted(['{"choice": "E1", "score": 1}'])
    client.ask("analyst", "e0001", MESSAGES, Pick)
    client.save_usage(tmp_path / "llm" / "usage.json")
    report = UsageReport.model_validate_json((tmp_path / "llm" / "usage.json").read_text())
    assert report.totals() == {"calls": 1, "retries": 0, "reasks": 0, "fallbacks": 0, "tokens": 15, "cost_usd": 0.001,
                               "structured": 1, "faults": dict.fromkeys(FAULT_KINDS, 0)}
    resumed = LLMClient("mock", cap=SpendCap(max_tokens=15))
    resumed.load_usage(tmp_path / "llm" / "usage.json")
    with pytest.raises(SpendExceeded):
        resumed.ask("analyst", "e0002", MESSAGES, Pick)


def test_concurrent_asks_are_all_counted():
    client = LLMClient("mock")
    messages = [{"role": "user", "content": "archlab-task: analyst-summary\nRECORDS:\n```json\n[]\n```"}]

    class Summary(BaseModel):
        insights: list[str]

    def work():
        for _ in range(10):
            assert client.ask("analyst", "summary", messages, Summary).value is not None

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.usage.agents["analyst"].calls == 40


def test_bad_mode_and_missing_cassette_are_one_line(tmp_path):
    with pytest.raises(ValueError, match="mode must be"):
        LLMClient("mock", mode="tape")
    with pytest.raises(ValueError, match="needs a cassette_path"):
        LLMClient("mock", mode="replay")
    with pytest.raises(FileNotFoundError, match="cassette not found"):
        LLMClient("mock", mode="replay", cassette_path=tmp_path / "none.jsonl")


def test_mock_answers_are_deterministic_and_json():
    messages = [{"role": "user", "content": "archlab-task: planner\nGOAL:\n```json\n{\"goal\": \"mnist1d under 10k params\"}\n```"}]
    a = LLMClient("mock", seed=3)._call(messages)[0]
    b = LLMClient("mock", seed=3)._call(messages)[0]
    assert a == b and json.loads(a)["max_params"] == 10000


def test_a_crashing_mock_costs_a_fallback_not_the_caller(monkeypatch):
    from archlab.llm import mock

    def broken(messages, seed=0):
        raise KeyError("menu")

    monkeypatch.setattr(mock, "reply", broken)
    client = LLMClient("mock")
    answer = client.ask("coder", "e0001", MESSAGES, Pick, reask=reask)
    assert answer.fallback_used and "mock model failed: KeyError" in answer.errors[-1]
    assert client.usage.agents["coder"].fallbacks == 1
