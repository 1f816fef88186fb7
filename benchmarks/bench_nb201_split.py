"""Where a lookup campaign's time goes: the search loop against the fixed costs, for one or more
source trees side by side (e.g. before and after a speed change).

A 300-query NAS-Bench-201 campaign (the same campaigns as bench_nb201.py: lightweight, one
worker, hashing embedder) is timed whole and in parts: `loop` (the Orchestrator's search loop:
every proposal, evaluation and record), `open` (wiring: memory, model client, executor),
`finish` (final state, usage, commit and tag), `close` (executor and memory, incl. the last
Chroma write) and `summary` (reading the folder back); inside the loop, `propose` (the strategy),
`coder` (the coder's step, which holds `evidence`, the similar-experiments query, and `model`, the
model exchange), `record` (folding a result in), and `gc` (the garbage collector, whole campaign).
Per-proposal cost is loop time over proposals; fixed cost is the rest. Each tree runs in its own
process (its code first on the path), after two short warm-up campaigns (imports, the table), and
the trees take turns seed by seed, so a change of machine load hits them alike.

Usage: python benchmarks/bench_nb201_split.py [--trees DIR[,DIR...]] [--seeds 3] [--budget 300]
Prints one line per campaign, a table per tree and strategy (proposals/s over the whole campaign
and over the search loop, fixed seconds), one of the phases inside the loop, the load average,
and ends with one JSON line {tree: {strategy: {"campaign_per_s", "loop_per_s", "fixed_s"}}}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
PARTS = ("open", "loop", "finish", "close", "summary")
INNER = ("propose", "coder", "evidence", "model", "record", "gc")  # nested in loop (gc: the whole campaign)

_CHILD = r'''
import collections, hashlib, json, sys, time
tree, strategies, seed, budget = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
sys.path[:0] = [tree, tree + "/benchmarks"]
import bench_nb201 as b
from archlab.campaign import collaborators, lifecycle, loop
spent = collections.defaultdict(float)
def timed(owner, name, part):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[part] += time.perf_counter() - start
    setattr(owner, name, wrapper)
timed(loop.Orchestrator, "run", "loop"); timed(lifecycle, "wire", "open"); timed(lifecycle, "_finish", "finish")
timed(collaborators.Collaborators, "close", "close"); timed(lifecycle, "summarize", "summary")
# Inside the loop (nested: the coder's step holds the evidence query and the model exchange).
from archlab.campaign import history, proposing
from archlab.llm import client
from archlab.search import base as search_base
for part, owner, name in (("propose", search_base.StrategyBase, "propose"),
                          ("coder", proposing.Proposer, "_coder_choice"), ("evidence", history.History, "memories"),
                          ("model", client.LLMClient, "_call"), ("record", loop.Orchestrator, "_fold")):
    if hasattr(owner, name):  # an older tree may lack one
        timed(owner, name, part)
import gc
collecting = [0.0]
def on_gc(phase, info):
    if phase == "start":
        collecting[0] = time.perf_counter()
    else:
        spent["gc"] += time.perf_counter() - collecting[0]
gc.callbacks.append(on_gc)
for strategy in strategies:
    b.search(strategy, 999, b.TABLE, 20)  # warm-up: imports, the table
for strategy in strategies:
    spent.clear()
    run = b.search(strategy, seed, b.TABLE, budget)
    cells = hashlib.sha256("|".join(run.cells).encode()).hexdigest()[:12]
    print(json.dumps({"strategy": strategy, "seed": seed, "steps": run.steps, "seconds": run.seconds,
                      "cells": cells, **spent}), flush=True)
'''


def run_tree(tree: Path, strategies: list[str], seed: int, budget: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tree), ",".join(strategies), str(seed), str(budget)],
                         capture_output=True, text=True, env=env, cwd=tree, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", default=str(HERE), help="comma-separated source trees (default: this one)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--strategies", default="random,evolution,agentic")
    args = parser.parse_args(argv)
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    strategies = args.strategies.split(",")
    runs: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    loads = [os.getloadavg()[0]]
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for tree in trees:
            for row in run_tree(tree, strategies, seed, args.budget):
                runs[str(tree)][row["strategy"]].append(row)
                parts = " ".join(f"{p}={row.get(p, 0.0):.2f}s" for p in PARTS)
                print(f"{tree.name} {row['strategy']} seed {seed}: {row['steps']} proposals in "
                      f"{row['seconds']:.2f}s ({parts}) cells {row['cells']}", flush=True)
            loads.append(os.getloadavg()[0])
    summary: dict[str, dict[str, dict[str, float]]] = {}
    print("\ntree | strategy | proposals/s, whole campaign | proposals/s, search loop only | fixed s per campaign")
    for tree, by_strategy in runs.items():
        summary[tree] = {}
        for strategy, rows in by_strategy.items():
            steps, seconds = sum(r["steps"] for r in rows), sum(r["seconds"] for r in rows)
            loop = sum(r["loop"] for r in rows)
            figures = {"campaign_per_s": round(steps / seconds, 1), "loop_per_s": round(steps / loop, 1),
                       "fixed_s": round(statistics.fmean(r["seconds"] - r["loop"] for r in rows), 2)}
            summary[tree][strategy] = figures
            print(f"{Path(tree).name} | {strategy} | {figures['campaign_per_s']} | {figures['loop_per_s']} | "
                  f"{figures['fixed_s']}")
    print("\ntree | strategy | ms per campaign inside the loop: " + ", ".join(INNER)
          + " (coder holds evidence and model; gc is over the whole campaign)")
    for tree, by_strategy in runs.items():
        for strategy, rows in by_strategy.items():
            inner = ", ".join(f"{part} {1000 * statistics.fmean(r.get(part, 0.0) for r in rows):.0f}" for part in INNER)
            print(f"{Path(tree).name} | {strategy} | {inner}")
    print(f"load average (1 min) during the run: {min(loads):.2f}-{max(loads):.2f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
