"""Benchmark of the model layer: prompt sizes per agent, mock throughput, the HTTP path, faults.

Prints, per agent task, the prompt tokens of a typical call (the mock's
word-piece count and litellm's `token_counter` for gpt-4o-mini, i.e. a real BPE
count) before and after the compact coder menu (before: the same request in the
v1 layout, the menu as lines and a JSON block; goal: coder <= 1,500 BPE tokens at
40 entries), then in-process mock calls per second, the median HTTP round trip
through litellm to the mock server on loopback, and, under the mock server's
fault injection (30% transport faults split evenly, plus 15% answers wrapped in
an envelope the schema forbids), the re-ask and fallback rates of structured
answers (`response_format` with each agent's JSON schema) against free text,
side by side on the same seeded faults. The envelope fault stands for what a
constrained decoder rules out; truncation and transport faults hit both.
Last line: one JSON object with the figures.

    .venv/bin/python benchmarks/bench_llm.py [--calls 200] [--fault-sessions 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import torch  # noqa: E402

from archlab import tools  # noqa: E402
from archlab.agents import Analyst, Coder, Evaluator, FidelityContext, Planner  # noqa: E402
from archlab.llm import FaultConfig, LLMClient, running_mock_server  # noqa: E402
from archlab.llm.mock.rng_key import as_v1  # noqa: E402
from archlab.llm.providers import count_tokens  # noqa: E402
from archlab.records import Result  # noqa: E402

INPUT_SHAPE = (1, 40)
MEMORIES = [
    {"id": f"e{i:04d}", "edit": edit, "val_accuracy": val, "parent_val_accuracy": 0.86}
    for i, (edit, val) in enumerate([("wrap_residual at root.2", 0.90), ("insert at root.1 op=pool", 0.80),
                                     ("set_param at root.0 kernel=7", 0.88), ("swap_act at root.1 fn=gelu", 0.87)])
]


def session(client: LLMClient, menu, source: str, index: int) -> None:
    """One proposal's worth of calls: direction, coder choice, fidelity, analysis."""
    planner, coder, evaluator, analyst = Planner(client), Coder(client), Evaluator(client), Analyst(client)
    step = f"e{index:04d}"
    direction = planner.direction({"evaluated": index, "best": {"val_accuracy": 0.9}, "recent": MEMORIES}, MEMORIES,
                                  step=f"g{index}")
    choice = coder.choose(source, menu, direction, MEMORIES, menu[0].sample(random.Random(index)), step=step)
    evaluator.plan_fidelity(FidelityContext(exp_id=step, proxy_rank=(index % 10) / 10, best_val_accuracy=0.9,
                                            parent_val_accuracy=0.88))
    result = Result(status="ok", val_accuracy=0.85 + (index % 7) / 100, params=5000 + index)
    record = {"id": step, "parent_ids": ["e0001"], "edit": choice.edit.model_dump(mode="json"),
              "result": result.model_dump(mode="json")}
    analyst.analyze(record, {"id": "e0001", "result": {"status": "ok", "val_accuracy": 0.88, "params": 5000}}, MEMORIES)


def prompt_sizes(menu, source: str) -> dict[str, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        tape = Path(tmp) / "cassette.jsonl"
        client = LLMClient("mock", cassette_path=tape, mode="record")
        Planner(client).plan("a 1-D CNN for MNIST-1D, at most 20k parameters, beat 96% accuracy")
        session(client, menu, source, 1)
        Coder(client).write_module(source)
        Analyst(client).summarize([{"id": f"e{i:04d}", "result": {"status": "ok", "val_accuracy": 0.8 + i / 100}}
                                   for i in range(20)])
        sizes: dict[str, dict[str, int]] = {}
        for line in tape.read_text().splitlines():
            exchange = json.loads(line)
            task = exchange["messages"][1]["content"].splitlines()[0].split(": ", 1)[1]
            before = as_v1(exchange["messages"])  # the v1 layout of the same request (only the coder's changed)
            sizes[task] = {"mock_tokens": exchange["prompt_tokens"],
                           "bpe_tokens": count_tokens(exchange["messages"], "gpt-4o-mini"),
                           "bpe_tokens_v1": count_tokens(before, "gpt-4o-mini")}
    return sizes


def fault_rates(menu, source: str, sessions: int, structured: str) -> dict[str, float]:
    """Re-asks and fallbacks per agent call over `sessions` sessions under seeded fault injection."""
    faults = FaultConfig.uniform(0.3, delay_s=1.0, seed=0).model_copy(update={"invalid": 0.15})
    with running_mock_server(faults) as server:
        client = LLMClient("openai/mock", api_base=server.api_base, api_key="sk-dummy", timeout_s=0.5,
                           max_retries=3, backoff_s=0.02, structured=structured)
        for i in range(sessions):
            session(client, menu, source, i)
        injected = server.fault_counts
    totals = client.usage.totals()
    calls = max(1, totals["calls"])
    return {"calls": totals["calls"], "reask_rate": round(totals["reasks"] / calls, 3),
            "fallback_rate": round(totals["fallbacks"] / calls, 3), "retries": totals["retries"],
            "invalid_answers": totals["faults"]["invalid"], "structured_requests": totals["structured"],
            "injected": dict(sorted(injected.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="sessions for the throughput figures")
    parser.add_argument("--fault-sessions", type=int, default=30, help="sessions per mode under fault injection")
    args = parser.parse_args()
    torch.set_num_threads(1)
    arch = tools.seeds.mnist1d_cnn()
    menu = tools.legal_edits(arch, INPUT_SHAPE)
    source = tools.render(arch, INPUT_SHAPE, 10)
    print(f"menu: {len(menu)} legal edits on the MNIST-1D CNN seed (coder shows at most 40)")

    sizes = prompt_sizes(menu, source)
    print(f"{'agent task':<22}{'mock tokens':>12}{'BPE tokens':>12}{'BPE before':>12}")
    for task, row in sizes.items():
        print(f"{task:<22}{row['mock_tokens']:>12}{row['bpe_tokens']:>12}{row['bpe_tokens_v1']:>12}")

    client = LLMClient("mock")
    start = time.perf_counter()
    for i in range(args.calls):
        session(client, menu, source, i)
    mock_calls = client.usage.totals()["calls"]
    mock_per_s = mock_calls / (time.perf_counter() - start)
    print(f"in-process mock: {mock_calls} agent calls, {mock_per_s:.1f} calls/s")

    with running_mock_server() as server:
        http = LLMClient("openai/mock", api_base=server.api_base, api_key="sk-dummy")
        session(http, menu, source, 0)  # warm litellm up
        times = []
        for i in range(max(5, args.calls // 10)):
            begin = time.perf_counter()
            session(http, menu, source, i)
            times.append((time.perf_counter() - begin) / 4)
    http_ms = statistics.median(times) * 1000
    print(f"HTTP via litellm to the mock server: median {http_ms:.1f} ms per agent call")

    rates = {mode: fault_rates(menu, source, args.fault_sessions, mode) for mode in ("on", "off")}
    for mode, label in (("on", "structured"), ("off", "free text")):
        row = rates[mode]
        print(f"faults (30% transport + 15% envelope), {label:>10}: {row['calls']} calls, re-ask rate "
              f"{row['reask_rate']:.3f}, fallback rate {row['fallback_rate']:.3f}, invalid answers "
              f"{row['invalid_answers']}, retries {row['retries']}; injected {row['injected']}")
    print(json.dumps({"prompt_tokens": sizes, "mock_calls_per_s": round(mock_per_s, 1),
                      "http_ms_per_call": round(http_ms, 1),
                      "faults": {"structured": rates["on"], "free_text": rates["off"]}}, sort_keys=True))


if __name__ == "__main__":
    main()
