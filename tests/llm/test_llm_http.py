"""The real HTTP path: litellm against the mock model's OpenAI-compatible server on loopback."""

import json
import urllib.request

import pytest
from pydantic import BaseModel

from archlab.llm import FaultConfig, LLMClient, ModelConfigError, check_model, running_mock_server

GOAL = [{"role": "user", "content": 'archlab-task: planner\nGOAL:\n```json\n{"goal": "mnist1d under 20k params, beat 96%"}\n```'}]


class Plan(BaseModel):
    task: str | None
    max_params: int | None
    target: float | None


def reask(error: str) -> str:
    return f"Your answer was rejected: {error}. Answer again with one JSON object."


def http_client(server, **kwargs) -> LLMClient:
    kwargs.setdefault("timeout_s", 5.0)
    return LLMClient("openai/mock", api_base=server.api_base, api_key="sk-dummy", backoff_s=0.01, **kwargs)


def test_http_answer_equals_the_in_process_mock():
    with running_mock_server() as server:
        over_http = http_client(server, seed=7).ask("planner", "plan", GOAL, Plan, reask=reask)
    in_process = LLMClient("mock", seed=7).ask("planner", "plan", GOAL, Plan, reask=reask)
    assert over_http.value == in_process.value == Plan(task="mnist1d", max_params=20000, target=0.96)
    assert over_http.usage.prompt_tokens == in_process.usage.prompt_tokens > 0


def test_models_route_and_bad_requests():
    with running_mock_server() as server:
        listing = json.load(urllib.request.urlopen(server.api_base + "/models", timeout=5))
        assert listing["data"][0]["id"] == "mock"
        request = urllib.request.Request(server.api_base + "/chat/completions", data=b"{not json", method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 400


@pytest.mark.parametrize("kind", ["rate_limit", "server_error", "malformed"])
def test_each_transport_fault_is_retried_and_counted(kind):
    faults = FaultConfig(**{kind: 1.0})
    with running_mock_server(faults) as server:
        client = http_client(server, max_retries=2)
        answer = client.ask("planner", "plan", GOAL, Plan, reask=reask)
        assert server.fault_counts[kind] == 3
    assert answer.fallback_used
    row = client.usage.agents["planner"]
    assert (row.requests, row.retries, row.fallbacks) == (3, 2, 1)


def test_delay_past_the_timeout_is_a_retried_timeout():
    with running_mock_server(FaultConfig(delay=1.0, delay_s=1.5)) as server:
        client = http_client(server, max_retries=1, timeout_s=0.3)
        answer = client.ask("planner", "plan", GOAL, Plan, reask=reask)
    assert answer.fallback_used and any("timeout" in e for e in answer.errors)
    assert client.usage.agents["planner"].retries == 1


def test_truncated_answers_are_reasked_then_fall_back():
    with running_mock_server(FaultConfig(truncated=1.0)) as server:
        client = http_client(server)
        answer = client.ask("planner", "plan", GOAL, Plan, reask=reask)
    row = client.usage.agents["planner"]
    assert answer.fallback_used and (row.reasks, row.rejected, row.fallbacks) == (1, 2, 1)


def test_thirty_percent_faults_never_crash_the_caller():
    with running_mock_server(FaultConfig.uniform(0.3, delay_s=1.0, seed=1)) as server:
        client = http_client(server, max_retries=3, timeout_s=0.5)
        answers = [client.ask("planner", f"plan-{i}", GOAL, Plan, reask=reask) for i in range(12)]
        injected = sum(v for k, v in server.fault_counts.items() if k != "ok")
    totals = client.usage.totals()
    assert injected > 0 and totals["calls"] == 12
    assert totals["retries"] + totals["reasks"] > 0  # the faults were seen and handled
    good = [a.value for a in answers if a.value is not None]
    assert len(good) >= 9 and all(v.max_params == 20000 for v in good)


def test_fault_rates_are_checked():
    with pytest.raises(ValueError, match="add up to"):
        running_mock_server(FaultConfig(rate_limit=0.7, server_error=0.7)).__enter__()
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        FaultConfig.uniform(1.5)


def test_unknown_model_is_one_clear_line():
    with pytest.raises(ModelConfigError) as info:
        check_model("banana-9000")
    assert "unknown model 'banana-9000'" in str(info.value) and "\n" not in str(info.value)


def test_missing_api_key_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelConfigError) as info:
        LLMClient("openai/gpt-4o-mini")
    assert "needs OPENAI_API_KEY" in str(info.value) and "\n" not in str(info.value)


def test_self_hosted_endpoint_and_mock_need_no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    check_model("mock")
    check_model("openai/mock", api_base="http://127.0.0.1:9/v1")


def test_mock_token_count_is_close_to_a_real_bpe_count():
    from archlab.llm import mock
    from archlab.llm.providers import count_tokens

    messages = GOAL + [{"role": "user", "content": "MENU:\n```json\n" + json.dumps(
        [{"id": f"E{i}", "kind": "insert", "path": f"root.{i}", "free": {"out_channels": [8, 16, 32, 64]}}
         for i in range(20)]) + "\n```"}]
    estimate, real = mock.count_tokens(mock.prompt_text(messages)), count_tokens(messages)
    assert abs(estimate - real) / real < 0.2
