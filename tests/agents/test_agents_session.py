"""All four agents in one session: over HTTP via litellm, under faults, and replayed from a cassette."""

import json

from agents_helpers import fallback_edit

from archlab.agents import Analyst, Coder, Evaluator, FidelityContext, Planner
from archlab.llm import FaultConfig, LLMClient, running_mock_server
from archlab.records import Result

MEMORIES = [{"id": "e0002", "edit": "wrap_residual at root.2", "val_accuracy": 0.9, "parent_val_accuracy": 0.86}]


def run_session(client: LLMClient, menu, source) -> list[str]:
    """One small campaign's worth of agent calls; every decision as JSON text."""
    planner, coder, evaluator, analyst = Planner(client), Coder(client), Evaluator(client), Analyst(client)
    out = [planner.plan("a 1-D CNN for MNIST-1D, at most 20k parameters, beat 96% accuracy").model_dump_json()]
    direction = planner.direction({"evaluated": 2, "best": {"val_accuracy": 0.9}, "recent": MEMORIES}, MEMORIES)
    out.append(direction.model_dump_json())
    records = []
    for i in range(3):
        step = f"e{i + 3:04d}"
        choice = coder.choose(source, menu, direction, MEMORIES, fallback_edit(menu), step=step)
        out.append(json.dumps({"edit": choice.edit.model_dump(mode="json"), "source": choice.source}, sort_keys=True))
        fidelity = evaluator.plan_fidelity(FidelityContext(exp_id=step, proxy_rank=0.2 * i, best_val_accuracy=0.9,
                                                           parent_val_accuracy=0.86 + 0.02 * i))
        out.append(fidelity.model_dump_json())
        result = Result(status="ok", val_accuracy=0.87 + 0.01 * i, params=5000 + 100 * i)
        record = {"id": step, "parent_ids": ["e0002"], "edit": choice.edit.model_dump(mode="json"),
                  "result": result.model_dump(mode="json")}
        records.append(record)
        parent = {"id": "e0002", "result": Result(status="ok", val_accuracy=0.9, params=5000).model_dump(mode="json")}
        out.append(analyst.analyze(record, parent, MEMORIES).model_dump_json())
    out.append(json.dumps(analyst.summarize(records)))
    module = coder.write_module(source, step="module-1")
    out.append(module.model_dump_json() if module else "null")
    return out


def test_every_agent_gives_a_valid_decision_over_http(menu, parent_source):
    with running_mock_server() as server:
        client = LLMClient("openai/mock", api_base=server.api_base, api_key="sk-dummy", seed=2)
        over_http = run_session(client, menu, parent_source)
    in_process = run_session(LLMClient("mock", seed=2), menu, parent_source)
    assert [row.replace('"model":"openai/mock"', '"model":"mock"') for row in over_http] == in_process
    assert all(row.fallbacks == 0 for row in client.usage.agents.values())
    assert set(client.usage.agents) == {"planner", "coder", "evaluator", "analyst"}


def test_thirty_percent_faults_crash_no_agent_call_and_are_counted(menu, parent_source, capsys):
    with running_mock_server(FaultConfig.uniform(0.3, delay_s=1.0, seed=3)) as server:
        client = LLMClient("openai/mock", api_base=server.api_base, api_key="sk-dummy", seed=2,
                           timeout_s=0.5, max_retries=2, backoff_s=0.01)
        decisions = run_session(client, menu, parent_source)
        faults = server.fault_counts
    assert len(decisions) == 13  # every call returned a decision
    totals = client.usage.totals()
    assert totals["calls"] == 13 and totals["retries"] + totals["reasks"] + totals["fallbacks"] > 0
    with capsys.disabled():
        print(f"\n30% faults injected {faults}; llm totals {totals}")
    for agent, row in client.usage.agents.items():
        assert row.requests >= row.calls, agent


def test_a_recorded_session_replays_byte_identically(tmp_path, menu, parent_source):
    tape = tmp_path / "llm" / "cassette.jsonl"
    recorded = run_session(LLMClient("mock", cassette_path=tape, mode="record", seed=9), menu, parent_source)
    tape_bytes = tape.read_bytes()
    replay_client = LLMClient("mock", cassette_path=tape, mode="replay", seed=12345)  # seed unused in replay
    replayed = run_session(replay_client, menu, parent_source)
    assert "\n".join(replayed).encode() == "\n".join(recorded).encode()
    assert tape.read_bytes() == tape_bytes
    again = tmp_path / "again.jsonl"
    run_session(LLMClient("mock", cassette_path=again, mode="record", seed=9), menu, parent_source)
    assert again.read_bytes() == tape_bytes  # recording itself is deterministic
