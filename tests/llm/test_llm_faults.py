"""Fault kinds from the real cause, and a dead endpoint that says so instead of falling back."""

import socket
import time

import pytest
from llm_helpers import Pick, ScriptedClient
from pydantic import BaseModel

from archlab.llm import FAULT_KINDS, FaultConfig, LLMClient, ModelUnreachable, TransportError, running_mock_server

GOAL = [{"role": "user", "content": 'archlab-task: planner\nGOAL:\n```json\n{"goal": "mnist1d under 20k params"}\n```'}]


class Plan(BaseModel):
    task: str | None = None
    max_params: int | None = None


def reask(error: str) -> str:
    return f"rejected: {error}"


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_for(api_base: str, **kwargs) -> LLMClient:
    kwargs.setdefault("api_key", "sk-dummy")
    kwargs.setdefault("timeout_s", 5.0)
    return LLMClient("openai/mock", api_base=api_base, **kwargs)


def test_nothing_listening_stops_the_first_call_within_seconds_with_one_line():
    base = f"http://127.0.0.1:{closed_port()}/v1"
    client = client_for(base)  # default settings: 4 retries, 0.5 s backoff
    start = time.monotonic()
    with pytest.raises(ModelUnreachable) as caught:
        client.ask("planner", "plan", GOAL, Plan, reask=reask)
    elapsed = time.monotonic() - start
    message = str(caught.value)
    assert message == f"cannot reach the model openai/mock at {base}: connection refused; 3 requests, none answered"
    assert elapsed < 10  # was 7.5 s of backoff per call, every call, then a "successful" campaign
    assert (caught.value.kind, caught.value.attempts, caught.value.endpoint) == ("connect", 3, base)
    row = client.usage.agents["planner"]
    assert (row.calls, row.requests, row.fallbacks, row.faults) == (0, 3, 0, {"connect": 3})


def test_an_unknown_host_is_named():
    with pytest.raises(ModelUnreachable, match="unknown host"):
        client_for("http://no-such-host.invalid/v1", connect_backoff_s=0.01).ask("planner", "plan", GOAL, Plan)


def test_a_wrong_key_stops_the_first_call_as_an_authentication_failure():
    with running_mock_server(api_key="sk-right") as server:
        client = client_for(server.api_base, api_key="sk-wrong")
        with pytest.raises(ModelUnreachable) as caught:
            client.ask("planner", "plan", GOAL, Plan, reask=reask)
        assert server.served["refused_401"] == 3 and not server.fault_counts  # no completion was attempted
    assert "authentication failed (HTTP 401: invalid api key" in str(caught.value) and "\n" not in str(caught.value)
    assert client.usage.agents["planner"].faults == {"auth": 3}


def test_with_allow_fallback_a_dead_endpoint_falls_back_fast_and_is_counted():
    client = client_for(f"http://127.0.0.1:{closed_port()}/v1", allow_fallback=True, connect_backoff_s=0.01)
    first = client.ask("planner", "plan", GOAL, Plan, reask=reask)
    start = time.monotonic()
    later = [client.ask("planner", f"plan-{i}", GOAL, Plan, reask=reask) for i in range(5)]
    assert first.fallback_used and all(a.fallback_used for a in later)
    assert time.monotonic() - start < 5  # one refused request each, no backoff: the endpoint is known dead
    assert "connect: connection refused" in first.errors[-1]
    totals = client.usage.totals()
    assert totals["fallbacks"] == 6 and totals["faults"]["connect"] == 3 + 5


def test_an_endpoint_that_answered_once_is_not_declared_dead():
    """A server that goes away mid-run costs fallbacks, counted as connect faults; no exception."""
    with running_mock_server() as server:
        client = client_for(server.api_base, backoff_s=0.01, max_retries=1)
        assert client.ask("planner", "plan", GOAL, Plan, reask=reask).value.task == "mnist1d"
    client.api_base = f"http://127.0.0.1:{closed_port()}/v1"  # the server is gone (a stopped server's
    later = client.ask("planner", "plan-2", GOAL, Plan, reask=reask)  # kept-alive socket may still answer)
    assert later.fallback_used and client.usage.totals()["faults"]["connect"] == 2


def test_probe_finds_a_dead_endpoint_before_anything_is_spent(tmp_path):
    tape = tmp_path / "cassette.jsonl"
    client = LLMClient("openai/mock", api_base=f"http://127.0.0.1:{closed_port()}/v1", api_key="k",
                       cassette_path=tape, mode="record", connect_backoff_s=0.01)
    with pytest.raises(ModelUnreachable, match="connection refused"):
        client.probe()
    assert not tape.exists()  # the probe is not a decision: nothing recorded
    with running_mock_server() as server:
        alive = client_for(server.api_base)
        assert alive.probe() is True
    assert alive.usage.agents["probe"].requests == 1 and alive.usage.agents["probe"].prompt_tokens > 0
    assert LLMClient("mock").probe() is True


@pytest.mark.parametrize("fault, kind", [("rate_limit", "rate_limit"), ("server_error", "server"),
                                         ("malformed", "malformed"), ("delay", "timeout")])
def test_each_injected_fault_is_counted_under_its_kind(fault, kind):
    with running_mock_server(FaultConfig(**{fault: 1.0}, delay_s=1.0)) as server:
        client = client_for(server.api_base, max_retries=1, backoff_s=0.01, timeout_s=0.3)
        answer = client.ask("planner", "plan", GOAL, Plan, reask=reask)
    assert answer.fallback_used
    faults = client.usage.totals()["faults"]
    assert faults[kind] == 2 and sum(faults.values()) == 2 and set(faults) == set(FAULT_KINDS)


def test_truncated_and_invalid_answers_are_invalid_faults():
    with running_mock_server(FaultConfig(truncated=1.0)) as server:
        client = client_for(server.api_base, structured="off")
        client.ask("planner", "plan", GOAL, Plan, reask=reask)
    assert client.usage.totals()["faults"]["invalid"] == 2


def test_scripted_faults_keep_their_kinds_through_record_and_replay(tmp_path):
    tape = tmp_path / "cassette.jsonl"
    script = [TransportError("rate_limit: HTTP 429", retryable=True, kind="rate_limit"),
              TransportError("timeout: no answer", retryable=True, kind="timeout"), "no json", '{"choice": "E1", "score": 1}']
    live = ScriptedClient(script, cassette_path=tape, mode="record", sleep=lambda s: None)
    live.ask("coder", "e0001", GOAL, Pick, reask=reask)
    replay = LLMClient("mock", cassette_path=tape, mode="replay")
    replay.ask("coder", "e0001", GOAL, Pick, reask=reask)
    assert replay.usage.agents["coder"].faults == live.usage.agents["coder"].faults == {
        "rate_limit": 1, "timeout": 1, "invalid": 1}
