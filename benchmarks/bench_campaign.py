"""Benchmark: random vs evolution vs agentic (mock model) on MNIST-1D, same wall budget.

Each strategy starts from the MLP seed only, with a 25k-parameter cap, for
`--minutes` of wall time (default 10) per campaign and 3 seeds, on `--workers`
local workers (default 2, i.e. a 2-core machine). Campaigns run one after the
other in lightweight mode (no per-experiment git commit or analysis; the
decisions are the same as a full run) with the hashing embedder.

Prints best validation and test accuracy per strategy and seed and the number of
evaluations done; the last line is one JSON object:
{"random": {"median_best_test": x, "per_seed": [...]}, "evolution": ..., "agentic": ...}
(best = the best candidate by *validation* accuracy; its test accuracy is reported).
Candidates train with the task's search recipe (MNIST-1D: 1500 steps, cosine decay;
see `archlab.sandbox.tasks.mnist1d_search_recipe`) unless `--steps` says otherwise.

    python benchmarks/bench_campaign.py --minutes 10
    python benchmarks/bench_campaign.py --minutes 1 --steps 1000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from archlab.campaign import CampaignSettings, run_campaign
from archlab.records import Budget, CampaignSpec, Constraints

STRATEGIES = ("random", "evolution", "agentic")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="wall budget per campaign")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-params", type=int, default=25_000)
    parser.add_argument("--steps", type=int, default=None, help="training steps at full fidelity "
                        "(default: the task's search recipe, 1500 for MNIST-1D)")
    parser.add_argument("--out", type=Path, default=None, help="keep the campaign folders here")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    overrides = {"steps": args.steps, "eval_every": max(1, args.steps // 10)} if args.steps else {}
    settings = CampaignSettings(workers=args.workers, embedder="hashing", lightweight=True,
                                write_report=False, recipe_overrides=overrides, grace_s=0.0)
    print(f"# {args.minutes:g} min per campaign, {args.workers} workers, MLP seed, max params "
          f"{args.max_params:,}, steps {args.steps or 'recipe'}, folders under {root}")
    per_strategy: dict[str, list[float | None]] = {}
    for strategy in args.strategies:
        for seed in args.seeds:
            spec = CampaignSpec(goal="find a small accurate model for MNIST-1D", strategy=strategy, seed=seed,
                                seed_archs=["mlp"], constraints=Constraints(max_params=args.max_params),
                                budget=Budget(max_evals=None, minutes=args.minutes))
            started = time.monotonic()
            summary = run_campaign(spec, root / f"{strategy}-s{seed}", settings)
            best = summary.best
            val = None if best is None else best.val_accuracy
            test = None if best is None else best.test_accuracy
            per_strategy.setdefault(strategy, []).append(test)
            print(f"{strategy:9s} seed {seed}: best val {_pct(val)} test {_pct(test)} "
                  f"({best.params if best else 0:,} params, {best.id if best else '-'}) "
                  f"evaluations {summary.evaluated} (failed {summary.failed}, cached {summary.cached}, "
                  f"rejected {summary.rejected}) in {time.monotonic() - started:.0f} s", flush=True)
    result = {}
    for strategy, values in per_strategy.items():
        known = [v for v in values if v is not None]
        result[strategy] = {"median_best_test": statistics.median(known) if known else None,
                            "per_seed": values}
    print(json.dumps(result))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


if __name__ == "__main__":
    main()
