"""NAS-Bench-201 (CIFAR-10) as a lookup task: random vs regularized evolution vs agentic.

Protocol (issue 8): every search is a real archlab campaign (`run_campaign` on the
task `table:PATH`, lightweight mode: no git commit or analyst per experiment, the
same decisions) that reads only `valid_acc_12ep` (the signal). It is scored by the
`test_acc_200ep` of the cell it would pick, i.e. the best by signal among the cells
it has queried so far. A query is one *new functional class* (arch_hash merges
equivalent cells): a structure seen before is served from the cache and does not
count. Every strategy starts from the same random seed cell per seed; evolution is
regularized evolution with P=20, S=5; agentic is the backbone with the real Coder
agent on the mock model.

Speed: the campaigns of all strategies run interleaved (seed by seed, in an order that rotates,
since a campaign runs faster or slower after another one), so a change of machine load hits them
alike; proposals/s is proposals (cached repeats included) over the campaigns' own wall time.

Tables (`--table PATH`): a CSV with one row per NAS-Bench-201 cell (all 15,625 for the shipped
one). Columns, found by name: the key `arch` (the official cell string
`|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`; else the first column), the signal the search reads (the
first column whose name starts with `valid`/`val_`, e.g. `valid_acc_12ep`), the report it is
scored by and never reads (the first starting with `test`, e.g. `test_acc_200ep`); `params_M` and
`flops_M` are optional. Percent or fractions both work. `--synthetic SEED` instead generates a
seeded smooth-plus-rugged landscape over the same cells (benchmarks/nb201_landscape.py;
`--ruggedness`, `--noise`) and runs on it: settings must hold there too, not only on CIFAR-10.
Tune on seeds 1000+ (`--first-seed 1000`); the README's figures are seeds 0-99.

Usage: python benchmarks/bench_nb201.py [--seeds 100] [--budget 300] [--jobs 2] [--table PATH |
--synthetic SEED] [--png PATH]
Prints mean +- std per strategy and budget, draws the anytime curves of the table it ran on
(to --png; without it, to a file in the temp folder: the shipped benchmarks/nb201_anytime.png is
rewritten only when asked by name), then the line
`agentic_proposals_per_s=X evolution_proposals_per_s=Y random_proposals_per_s=Z
agentic_time_over_evolution=R load_average=L` (R: mean campaign time, agentic over evolution; a variant
run beside them, e.g. agentic_random_coder, adds its own two figures), and ends with one JSON line
{"strategy": {"25": mean, ...}, ...} (test accuracy, %).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archlab import tools  # noqa: E402
from archlab.campaign import CampaignSettings, load_records, run_campaign  # noqa: E402
from archlab.campaign.workspace import Workspace  # noqa: E402
from archlab.records import Budget, CampaignSpec, Result  # noqa: E402
from archlab.sandbox.requests import EvalRequest  # noqa: E402
from archlab.sandbox.table import LookupExecutor, LookupTable, read_table  # noqa: E402

TABLE = Path("/work/shared/data/nb201/nb201_cifar10.csv")
BUDGETS = (10, 25, 50, 100, 150, 300)
STRATEGIES = ("random", "evolution", "agentic")
# What a benchmark campaign needs of the campaign machinery: one worker (the campaign's
# smallest lag: proposal i sees the results up to i-2, while i-1 is "in flight"; measured on
# seeds 1000-1099, a lag of 0 changed the agentic mean at 100 queries by -0.01, noise), no
# per-experiment commit, analysis or report, and the model-free embedder.
SETTINGS = CampaignSettings(workers=1, lightweight=True, write_report=False, embedder="hashing")
# Variants a run may add by name (`--strategies ...,agentic_random_coder`): a strategy with other
# settings. agentic_random_coder is the agentic search with the coder's pick replaced by a seeded
# uniform draw (`coder: random`): no prompt, model or evidence, so its time against agentic's says
# what the model exchange costs per campaign (its picks differ: the draws are not the mock's).
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {"agentic_random_coder": ("agentic", {"coder": "random"})}
CHOICES = STRATEGIES + tuple(VARIANTS)


@dataclass
class SearchRun:
    """What one search queried, in order, and what it cost."""

    cells: list[str] = field(default_factory=list)  # one per query (new functional class)
    signals: list[float] = field(default_factory=list)
    reports: list[float] = field(default_factory=list)
    steps: int = 0  # proposals, cached repeats included
    coder_fallbacks: int = 0
    seconds: float = 0.0

    def pick(self, budget: int) -> float | None:
        """Report value of the best-by-signal cell among the first `budget` queries."""
        if len(self.signals) < budget:
            return None
        best = max(range(budget), key=lambda i: (self.signals[i], -i))
        return self.reports[best]


def cell_arch(cell: str) -> tools.Arch:
    return tools.seeds.by_name(f"nb201:{cell}")


def seed_cell(table: LookupTable, seed: int) -> str:
    """The same starting cell for every strategy at a given seed."""
    cells = sorted(table.rows)
    return cells[random.Random(f"nb201-seed/{seed}").randrange(len(cells))]


def search(strategy: str, seed: int, table_path: Path | str, budget: int, workdir: Path | str | None = None) -> SearchRun:
    """One campaign on the table until `budget` queries; its records, in order, as a SearchRun."""
    table = read_table(table_path)
    base, overrides = VARIANTS.get(strategy, (strategy, {}))
    spec = CampaignSpec(goal=f"NAS-Bench-201 {strategy} seed {seed}", task=f"table:{Path(table_path).resolve()}",
                        strategy=base, seed=seed, seed_archs=[f"nb201:{seed_cell(table, seed)}"],
                        budget=Budget(max_evals=budget))
    with tempfile.TemporaryDirectory(prefix="nb201-", dir=workdir) as scratch:
        out = Path(scratch) / f"{strategy}-{seed}"
        gc.collect()  # the garbage earlier campaigns left is not this campaign's cost (not timed)
        start = time.perf_counter()
        summary = run_campaign(spec, out, SETTINGS.model_copy(update=overrides))
        seconds = time.perf_counter() - start
        records = load_records(Workspace.open(out))
    if summary.status != "done":
        raise RuntimeError(f"{strategy} seed {seed}: campaign {summary.status}: {summary.error or summary.stop_reason}")
    run = SearchRun(steps=len(records), coder_fallbacks=summary.llm.fallbacks, seconds=seconds)
    for record in records:
        result = Result.model_validate(record["result"])
        if result.cached or not result.ok:
            continue
        run.cells.append(record["arch"]["root"]["params"]["cell"])
        run.signals.append(result.val_accuracy or 0.0)
        run.reports.append(100 * (result.test_accuracy or 0.0))  # never read by the search
    return run


def _search_job(job: tuple[str, int, str, int]) -> SearchRun:
    return search(*job)


def run_many(strategies: list[str], seeds: range, table_path: Path, budget: int,
             jobs: int) -> dict[str, list[SearchRun]]:
    """Independent campaigns, interleaved (each seed's strategies side by side), optionally over
    several processes; the runs of each strategy in seed order."""
    # The order rotates seed by seed: a campaign runs faster or slower after another one (caches of
    # pure functions warmed, garbage left to collect), so no strategy always follows the same one.
    work = [(strategy, seed, str(table_path), budget) for i, seed in enumerate(seeds)
            for strategy in strategies[i % len(strategies):] + strategies[: i % len(strategies)]]
    if jobs <= 1:
        runs = [_search_job(job) for job in work]
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:  # each process parses the table once (read_table caches)
            runs = list(pool.map(_search_job, work, chunksize=max(1, len(work) // (4 * jobs))))
    return {strategy: [run for (s, *_), run in zip(work, runs) if s == strategy] for strategy in strategies}


def proposals_per_s(runs: list[SearchRun]) -> float:
    """Proposals (cached repeats included) per second of the campaigns' own wall time."""
    return sum(r.steps for r in runs) / max(1e-9, sum(r.seconds for r in runs))


def lookup_rate(table: LookupTable, n: int = 5000) -> float:
    """Queries per second of the lookup executor (request in, Result out)."""
    cells = sorted(table.rows)[:n]
    executor = LookupExecutor(table)
    archs = [cell_arch(c).model_dump() for c in cells]
    start = time.perf_counter()
    for i, arch in enumerate(archs):
        executor.submit(EvalRequest(exp_id=f"q{i}", arch=arch, task="table")).result()
    return len(archs) / (time.perf_counter() - start)


def plot(curves: dict[str, list[list[float]]], path: Path, table: LookupTable) -> None:
    """The anytime curves (mean +- std) on `table`, its best cell as a line, axes fitted to the data."""
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
    best = 100 * max(row.report for row in table.rows.values())
    ax.axhline(best, color="grey", linestyle=":", label=f"best cell ({best:.2f})")
    ax.set_xlabel("queries (distinct functional classes)")
    ax.set_ylabel(f"{table.columns.report} of the best-by-{table.columns.signal} cell (%)")
    lows = [statistics.fmean(r[min(9, len(r) - 1)] for r in runs) for runs in curves.values() if runs]
    ax.set_ylim(min(lows, default=best - 3) - 0.5, best + 0.25)  # from ~10 queries on: where they differ
    ax.set_title(f"NAS-Bench-201 table {table.path.name}: anytime performance (mean +- std)", fontsize=10)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds (campaigns per strategy)")
    parser.add_argument("--budget", type=int, default=max(BUDGETS), help="queries per campaign")
    parser.add_argument("--strategies", default=",".join(STRATEGIES),
                        help=f"comma-separated, among {', '.join(CHOICES)}")
    parser.add_argument("--png", type=Path, default=None,
                        help="where to draw the plot (default: a file in the temp folder; the shipped "
                             "benchmarks/nb201_anytime.png only when given here)")
    parser.add_argument("--table", type=Path, default=TABLE,
                        help="table CSV: key `arch` (cell string), signal `valid*`/`val_*` (searched), "
                             "report `test*` (scored, never read), optional params_M/flops_M "
                             f"(default {TABLE})")
    parser.add_argument("--synthetic", type=int, default=None, metavar="SEED",
                        help="run on a generated landscape over the same cells instead of --table")
    parser.add_argument("--ruggedness", type=float, default=1.0, help="--synthetic: pairwise interaction weight")
    parser.add_argument("--noise", type=float, default=0.5, help="--synthetic: signal noise std (points)")
    parser.add_argument("--jobs", type=int, default=1, help="processes (runs are independent)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed+seeds-1")
    args = parser.parse_args(argv)
    if args.synthetic is not None:
        from nb201_landscape import write_landscape

        name = f"nb201_synthetic_s{args.synthetic}_r{args.ruggedness:g}_n{args.noise:g}.csv"
        args.table = write_landscape(Path(tempfile.gettempdir()) / name, args.synthetic, args.ruggedness, args.noise)
    if args.png is None:
        args.png = Path(tempfile.gettempdir()) / f"nb201_anytime_{args.table.stem}.png"
    table = read_table(args.table)
    print(f"table: {args.table}")
    print(f"table: {len(table)} cells; lookup executor: {lookup_rate(table):,.0f} queries/s")
    budgets = [b for b in BUDGETS if b <= args.budget]
    summary: dict[str, dict[str, float]] = {}
    curves: dict[str, list[list[float]]] = {}
    strategies = args.strategies.split(",")
    unknown = [s for s in strategies if s not in CHOICES]
    if unknown:
        parser.error(f"unknown strategy {unknown[0]!r}; choose among {', '.join(CHOICES)}")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    all_runs = run_many(strategies, seeds, args.table, args.budget, args.jobs)
    rates = {strategy: proposals_per_s(runs) for strategy, runs in all_runs.items()}
    for strategy, runs in all_runs.items():
        curves[strategy] = [[r.pick(b) for b in range(1, len(r.signals) + 1)] for r in runs]  # type: ignore[misc]
        summary[strategy] = {}
        cells = []
        for b in budgets:
            picks = [p for p in (r.pick(b) for r in runs) if p is not None]
            mean, std = statistics.fmean(picks), statistics.pstdev(picks)
            summary[strategy][str(b)] = round(mean, 3)
            cells.append(f"{b}: {mean:.2f} +- {std:.2f}" + (f" ({len(picks)} runs)" if len(picks) < len(runs) else ""))
        fallbacks = sum(r.coder_fallbacks for r in runs)
        print(f"{strategy:{max(map(len, all_runs))}s} | " + " | ".join(cells)
              + f" | {rates[strategy]:.0f} proposals/s, {statistics.fmean(r.seconds for r in runs):.1f}s per campaign"
              + (f", coder fallbacks {fallbacks}" if strategy.startswith("agentic") else ""))
    plot(curves, args.png, table)
    print(f"plot: {args.png}")
    figures = [f"{strategy}_proposals_per_s={rates[strategy]:.1f}" for strategy in sorted(rates)]
    if "evolution" in rates:  # a whole campaign's time, agentic (and any variant) over evolution
        seconds = {s: statistics.fmean(r.seconds for r in runs) for s, runs in all_runs.items()}
        figures += [f"{s}_time_over_evolution={seconds[s] / seconds['evolution']:.2f}"
                    for s in ("agentic", *VARIANTS) if s in seconds]
    figures.append("load_average=" + "/".join(f"{x:.2f}" for x in os.getloadavg()))
    print(" ".join(figures))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
