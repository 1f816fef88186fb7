"""Benchmark the experiment memory: insert throughput, top-10 query latency, MiniLM speed.

Loads synthetic experiment records into a fresh embedded memory (hashing
embedder) at each size, then times the query agents use most: the 10
experiments most like a candidate by structure and text together
(`Memory.similar(arch, text, k=10)`), plus text-only for reference, and what
reopening the folder costs (open plus a first query, which loads the index): the
price a process would pay per operation if writers to one embedded folder took
turns by reopening it, instead of one holding it for its whole life
(knowledge/folder_lock.py). Finally it measures MiniLM embedding throughput.

    .venv/bin/python benchmarks/bench_knowledge.py                 # 10k and 100k
    .venv/bin/python benchmarks/bench_knowledge.py --sizes 2000 --minilm 128

Last line: p95_ms_100k=<float> insert_per_s=<float> minilm_per_s=<float> reopen_s=<float>
(insert rate and reopen time of the largest size run; nan where not measured).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import torch

from archlab.knowledge import ExperimentRecord, Memory, MiniLMEmbedder
from archlab.knowledge.views import record_document
from archlab.records import Result

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
CHUNK = 5000
ACTS = ["relu", "gelu", "silu", "tanh"]
NORMS = ["batchnorm", "layernorm", "groupnorm"]
WORDS = ("residual deeper wider kernel dilation pooling attention normalization dropout overfit "
         "plateau converged diverged faster slower accuracy parameters budget").split()


def _leaf(op: str, **params) -> dict:
    return {"op": op, "params": params, "children": []}


def synthetic_arch(rng: random.Random) -> dict:
    """A random but plausible 1-D CNN / MLP tree."""
    blocks = []
    for _ in range(rng.randint(1, 6)):
        if rng.random() < 0.7:
            body = [_leaf("conv1d", channels=rng.choice([8, 16, 32, 64]), kernel=rng.choice([3, 5, 7, 9]),
                          dilation=rng.choice([1, 1, 2, 4])),
                    _leaf(rng.choice(NORMS)), _leaf(rng.choice(ACTS))]
        else:
            body = [_leaf("linear", features=rng.choice([32, 64, 128, 256])), _leaf(rng.choice(ACTS))]
        block = {"op": "seq", "params": {}, "children": body}
        if rng.random() < 0.3:
            block = {"op": "residual", "params": {}, "children": [block]}
        blocks.append(block)
    blocks.append(_leaf(rng.choice(["globalpool", "maxpool", "avgpool"])))
    return {"root": {"op": "seq", "params": {}, "children": blocks}, "mined": {}}


def synthetic_record(number: int, rng: random.Random) -> ExperimentRecord:
    arch = synthetic_arch(rng)
    if rng.random() < 0.1:
        result = Result(status="failed", failure=rng.choice(["timeout", "compile", "diverged"]), error="synthetic")
    else:
        result = Result(status="ok", val_accuracy=rng.uniform(0.3, 0.97), params=rng.randint(1_000, 200_000),
                        flops=rng.randint(10_000, 10_000_000), fidelity=rng.choice([0.25, 1.0]))
    return ExperimentRecord(
        id=f"e{number:06d}", campaign=f"bench{number % 4}", arch=arch, arch_hash=f"{rng.getrandbits(64):016x}",
        result=result, analysis=" ".join(rng.choices(WORDS, k=12)),
        edit={"kind": rng.choice(["insert", "set_param", "wrap_residual", "swap_act"]), "path": "root.0"},
        created_at=START + timedelta(seconds=number),
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_size(size: int, queries: int, seed: int) -> tuple[float, float, float, float, float]:
    """Insert `size` records; return (insert/s, combined p50 ms, combined p95 ms, text-only p95 ms, reopen s)."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-knowledge-") as folder:
        with Memory(path=Path(folder) / "index", embedder="hashing") as memory:
            wall = cpu = 0.0
            for start in range(1, size + 1, CHUNK):  # made in chunks to bound memory; only inserts timed
                records = [synthetic_record(number, rng) for number in range(start, min(start + CHUNK, size + 1))]
                started, cpu_started = time.perf_counter(), time.process_time()
                memory.add_many(records)
                wall += time.perf_counter() - started
                cpu += time.process_time() - cpu_started
            insert_per_s, insert_per_cpu_s = size / wall, size / cpu
            combined, text_only, filtered = [], [], []
            for _ in range(queries):
                arch, text = synthetic_arch(rng), " ".join(rng.choices(WORDS, k=6))
                started = time.perf_counter()
                rows = memory.similar(arch, text, k=10, params=rng.randint(1_000, 200_000))
                combined.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                memory.similar(text=text, k=10)
                text_only.append((time.perf_counter() - started) * 1000)
                assert len(rows) == 10
                if len(filtered) < max(1, queries // 10):  # filters are slower in Chroma; sample a few
                    started = time.perf_counter()
                    memory.similar(arch, text, k=10, campaign="bench1", where={"val_accuracy": {"$gte": 0.8}})
                    filtered.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        with Memory(path=Path(folder) / "index", embedder="hashing") as again:  # lock, open, first query
            again.similar(synthetic_arch(rng), "residual deeper", k=10)
        reopen_s = time.perf_counter() - started
    p50, p95 = statistics.median(combined), percentile(combined, 0.95)
    print(f"size={size}: insert {insert_per_s:,.0f} records/s wall ({insert_per_cpu_s:,.0f} per CPU-second); "
          f"top-10 similar(arch+text) median {p50:.1f} ms, p95 {p95:.1f} ms; "
          f"text-only median {statistics.median(text_only):.1f} ms, p95 {percentile(text_only, 0.95):.1f} ms; "
          f"with campaign+metric filter median {statistics.median(filtered):.1f} ms "
          f"({len(filtered)} queries); reopen + first query {reopen_s:.2f} s; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    return insert_per_s, p50, p95, percentile(text_only, 0.95), reopen_s


def bench_minilm(count: int, seed: int) -> float:
    """MiniLM records/s on record texts (after one warm-up batch; loading not counted)."""
    rng = random.Random(seed)
    texts = [record_document(synthetic_record(number, rng)) for number in range(count)]
    embedder = MiniLMEmbedder()
    embedder.embed(texts[:16])
    started, cpu = time.perf_counter(), time.process_time()
    embedder.embed(texts)
    per_s = count / (time.perf_counter() - started)
    per_cpu_s = count / (time.process_time() - cpu)

    print(f"minilm: {per_s:,.1f} records/s wall ({per_cpu_s:,.1f} per CPU-second) over {count} records, "
          f"{torch.get_num_threads()} torch thread(s); load average {os.getloadavg()[0]:.1f}", flush=True)
    return per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--minilm", type=int, default=512, help="records to embed with MiniLM (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for MiniLM (1: one core's rate)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"bench_knowledge: sizes {args.sizes}, {args.queries} queries each, cpu count {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    insert_per_s = p95_100k = reopen_s = float("nan")
    for size in sorted(args.sizes):
        insert_per_s, _, p95, _, reopen_s = bench_size(size, args.queries, args.seed)
        if size == 100_000:
            p95_100k = p95
    minilm_per_s = bench_minilm(args.minilm, args.seed) if args.minilm else float("nan")
    # insert_per_s is the largest size's; p95_ms_100k is nan unless 100,000 was run.
    print(f"p95_ms_100k={p95_100k:.2f} insert_per_s={insert_per_s:.1f} minilm_per_s={minilm_per_s:.1f} "
          f"reopen_s={reopen_s:.2f}")


if __name__ == "__main__":
    main()
