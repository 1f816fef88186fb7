"""NAS-Bench-201 (CIFAR-10) as a lookup task: random vs regularized evolution vs agentic.

Protocol (issue 8): every search reads only `valid_acc_12ep` (the signal) and
is scored by the `test_acc_200ep` of the cell it would pick, i.e. the best by
signal among the cells it has queried so far. A query is one *new functional
class* (arch_hash merges equivalent cells): a structure seen before is served
from the cache and does not count. Every strategy starts from the same random
seed cell per seed; evolution is regularized evolution with P=20, S=5; agentic
is the backbone with the real Coder agent on the mock model.

Usage: python benchmarks/bench_nb201.py [--seeds 100] [--budget 300] [--png PATH]
Prints mean +- std per strategy and budget, writes the anytime-curve PNG, and
ends with one JSON line {"strategy": {"25": mean, ...}, ...} (test accuracy, %).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archlab import tools  # noqa: E402
from archlab.records import Result  # noqa: E402
from archlab.sandbox.requests import EvalRequest  # noqa: E402
from archlab.sandbox.table import LookupExecutor, LookupTable, read_table  # noqa: E402
from archlab.search import Backbone, BackboneConfig  # noqa: E402

TABLE = Path("/work/shared/data/nb201/nb201_cifar10.csv")
BUDGETS = (25, 50, 100, 150, 300)
STRATEGIES = ("random", "evolution", "agentic")
INPUT_SHAPE = (3, 32, 32)
EVIDENCE = 8  # past experiments shown to the coder
# One configuration for every strategy. Six random edge edits per random proposal make
# random search (and evolution's initial population) sample cells close to uniformly.
CONFIG = BackboneConfig(population=20, tournament=5, random_walk=6)


@dataclass
class SearchRun:
    """What one search queried, in order, and what it cost."""

    cells: list[str] = field(default_factory=list)  # one per query (new functional class)
    signals: list[float] = field(default_factory=list)
    reports: list[float] = field(default_factory=list)
    steps: int = 0  # proposals, cached repeats included
    coder_fallbacks: int = 0

    def pick(self, budget: int) -> float | None:
        """Report value of the best-by-signal cell among the first `budget` queries."""
        if len(self.signals) < budget:
            return None
        best = max(range(budget), key=lambda i: (self.signals[i], -i))
        return self.reports[best]


def cell_arch(cell: str) -> tools.Arch:
    return tools.Arch.model_validate({"root": {"op": "nb201_cell", "params": {"cell": cell}}})


def seed_cell(table: LookupTable, seed: int) -> str:
    """The same starting cell for every strategy at a given seed."""
    cells = sorted(table.rows)
    return cells[random.Random(f"nb201-seed/{seed}").randrange(len(cells))]


def make_coder(seed: int) -> Any:
    from archlab.agents import Coder
    from archlab.llm import LLMClient

    return Coder(LLMClient(model="mock", seed=seed))


def search(strategy: str, seed: int, table: LookupTable, budget: int, config: BackboneConfig | None = None,
           coder: Any = None, max_steps_factor: int = 10) -> SearchRun:
    """One search on the table until `budget` queries (or too many cached repeats)."""
    executor = LookupExecutor(table)
    backbone = Backbone(strategy, seed, [cell_arch(seed_cell(table, seed))], INPUT_SHAPE,
                        config=config or CONFIG)
    if strategy == "agentic" and coder is None:
        coder = make_coder(seed)
    cache: dict[str, Result] = {}
    history: list[dict[str, Any]] = []  # evidence rows for the coder (validation numbers only)
    scores: dict[str, float] = {}
    run = SearchRun()
    while len(run.cells) < budget and run.steps < budget * max_steps_factor:
        proposal = backbone.propose(run.steps)
        edit = proposal.default
        if strategy == "agentic" and edit is not None:
            choice = coder.choose(f"# nb201_cell {proposal.parent_arch.root.params['cell']}", proposal.menu,
                                  None, history[-EVIDENCE:], fallback=edit, step=f"e{run.steps + 1:05d}")
            run.coder_fallbacks += choice.source == "fallback"
            edit = choice.edit
        child = proposal.parent_arch if edit is None else tools.apply(proposal.parent_arch, edit)
        key = tools.arch_hash(child)
        if key in cache:
            result = cache[key].model_copy(update={"cached": True})
        else:
            result = executor.evaluate(EvalRequest(exp_id=f"e{run.steps + 1}", arch=child.model_dump(), task="table"))
            cache[key] = result
            run.cells.append(child.root.params["cell"])
            run.signals.append(result.val_accuracy or 0.0)
            run.reports.append(100 * (result.test_accuracy or 0.0))  # never read by the search
        exp_id = f"e{run.steps + 1:05d}"
        backbone.observe(exp_id, child, result)
        scores[exp_id] = result.val_accuracy or 0.0
        if edit is not None and proposal.parent_ids:
            history.append({"edit": edit.describe(), "kind": edit.kind, "params": {},
                            "parent_val_accuracy": scores.get(proposal.parent_ids[0]),
                            "child_val_accuracy": result.val_accuracy})
        run.steps += 1
    return run


_WORKER_TABLE: list[LookupTable] = []  # one parsed table per worker process


def _load_worker_table(path: str) -> None:
    _WORKER_TABLE.append(read_table(path))


def _search_job(job: tuple[str, int, int, BackboneConfig]) -> SearchRun:
    strategy, seed, budget, config = job
    return search(strategy, seed, _WORKER_TABLE[0], budget, config)


def run_many(strategy: str, seeds: range, table_path: Path, budget: int, jobs: int,
             config: BackboneConfig = CONFIG) -> list[SearchRun]:
    """Independent searches, in seed order, optionally over several processes."""
    work = [(strategy, seed, budget, config) for seed in seeds]
    if jobs <= 1:
        table = read_table(table_path)
        return [search(strategy, seed, table, budget, config) for seed in seeds]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, initializer=_load_worker_table, initargs=(str(table_path),)) as pool:
        return list(pool.map(_search_job, work, chunksize=max(1, len(work) // (4 * jobs))))


def lookup_rate(table: LookupTable, n: int = 5000) -> float:
    """Queries per second of the lookup executor (request in, Result out)."""
    cells = sorted(table.rows)[:n]
    executor = LookupExecutor(table)
    archs = [cell_arch(c).model_dump() for c in cells]
    start = time.perf_counter()
    for i, arch in enumerate(archs):
        executor.submit(EvalRequest(exp_id=f"q{i}", arch=arch, task="table")).result()
    return len(archs) / (time.perf_counter() - start)


def plot(curves: dict[str, list[list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for strategy, runs in curves.items():
        length = min(len(r) for r in runs)
        xs = list(range(1, length + 1))
        means = [statistics.fmean(r[i] for r in runs) for i in range(length)]
        stds = [statistics.pstdev(r[i] for r in runs) for i in range(length)]
        ax.plot(xs, means, label=strategy)
        ax.fill_between(xs, [m - s for m, s in zip(means, stds)], [m + s for m, s in zip(means, stds)], alpha=0.2)
    ax.axhline(94.37, color="grey", linestyle=":", label="best cell (94.37)")
    ax.set_xlabel("queries (distinct functional classes)")
    ax.set_ylabel("test accuracy of the best-by-validation cell (%)")
    ax.set_ylim(91.5, 94.6)
    ax.set_title("NAS-Bench-201 CIFAR-10: anytime performance (mean +- std)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", type=int, default=max(BUDGETS))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--png", type=Path, default=Path("benchmarks/nb201_anytime.png"))
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--jobs", type=int, default=1, help="processes (runs are independent)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed+seeds-1")
    parser.add_argument("--exploit", type=float, default=CONFIG.exploit, help="agentic: chance of a top parent")
    parser.add_argument("--top-k", type=int, default=CONFIG.top_k, help="agentic: size of the top group")
    args = parser.parse_args(argv)
    table = read_table(args.table)
    print(f"table: {len(table)} cells; lookup executor: {lookup_rate(table):,.0f} queries/s")
    budgets = [b for b in BUDGETS if b <= args.budget]
    summary: dict[str, dict[str, float]] = {}
    curves: dict[str, list[list[float]]] = {}
    for strategy in args.strategies.split(","):
        start = time.perf_counter()
        config = CONFIG.model_copy(update={"exploit": args.exploit, "top_k": args.top_k})
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        runs = run_many(strategy, seeds, args.table, args.budget, args.jobs, config)
        elapsed = time.perf_counter() - start
        curves[strategy] = [[r.pick(b) for b in range(1, len(r.signals) + 1)] for r in runs]  # type: ignore[misc]
        summary[strategy] = {}
        cells = []
        for b in budgets:
            picks = [p for p in (r.pick(b) for r in runs) if p is not None]
            mean, std = statistics.fmean(picks), statistics.pstdev(picks)
            summary[strategy][str(b)] = round(mean, 3)
            cells.append(f"{b}: {mean:.2f} +- {std:.2f}" + (f" ({len(picks)} runs)" if len(picks) < len(runs) else ""))
        steps = sum(r.steps for r in runs)
        fallbacks = sum(r.coder_fallbacks for r in runs)
        print(f"{strategy:9s} | " + " | ".join(cells)
              + f" | {elapsed:.0f}s, {steps / elapsed:.0f} proposals/s"
              + (f", coder fallbacks {fallbacks}" if strategy == "agentic" else ""))
    plot(curves, args.png)
    print(f"plot: {args.png}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
