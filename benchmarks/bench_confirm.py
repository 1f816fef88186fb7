"""Benchmark: does the confirmation stage pick a better model than the single run the search liked best?

For each seed, one agentic campaign (mock model, MNIST-1D, MLP and CNN seeds,
25k-parameter cap, lightweight bookkeeping) searches with `--evals` trainings of
`--steps` steps, then confirms its top `--top-k` candidates with `--confirm-seeds`
fresh seeds each (paid on top of the search budget, so the search is the same as
without confirmation). MNIST-1D validates on 400 samples (below the 1,000-sample
"small" threshold), so each confirmation run also scores a seeded holdout of the
training data pooled with the validation split.

Two picks per campaign, both by validation only:
- single-run pick: the best of the search's own runs (`records.rank_candidates`
  without the confirmation runs: what a campaign names when it does not confirm);
- confirmed pick: the best by mean validation over the confirmation runs.
The single-run pick is the search's first candidate, so it is always confirmed
too: both picks have test accuracies over the same fresh seeds. Printed per seed
and in total: how often the confirmed pick's test accuracy (mean over the fresh
seeds) beats, ties or loses to the single-run pick's, and by how much; and the
single-run pick's own test accuracy (the one a campaign without confirmation
would report). Test accuracy decides nothing here either. The last line is one
JSON object with these figures.

    python benchmarks/bench_confirm.py                       # seeds 0-4, 12 evaluations, 600 steps, top 3 x 3 seeds
    python benchmarks/bench_confirm.py --seeds 0 --evals 4 --steps 100 --top-k 2 --confirm-seeds 2   # smoke/estimate
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from archlab.campaign import CampaignSettings, load_records, run_campaign
from archlab.campaign.status import scored
from archlab.campaign.workspace import Workspace
from archlab.records import Budget, CampaignSpec, ConfirmSpec, Constraints, rank_candidates


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--evals", type=int, default=12, help="search trainings per campaign")
    parser.add_argument("--steps", type=int, default=600, help="training steps at full fidelity")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--confirm-seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args()


def campaign(root: Path, seed: int, args: argparse.Namespace) -> dict:
    settings = CampaignSettings(workers=args.workers, embedder="hashing", lightweight=True, write_report=False,
                                recipe_overrides={"steps": args.steps, "eval_every": max(1, args.steps // 5)},
                                grace_s=0.0)
    spec = CampaignSpec(goal="find a small accurate model for MNIST-1D", strategy="agentic", seed=seed,
                        constraints=Constraints(max_params=25_000), budget=Budget(max_evals=args.evals),
                        confirm=ConfirmSpec(top_k=args.top_k, seeds=args.confirm_seeds, paid_by="extra"))
    folder = root / f"s{seed}"
    started = time.monotonic()
    summary = run_campaign(spec, folder, settings)
    records = load_records(Workspace(folder))
    search = [r for r in records if (r.get("edit") or {}).get("kind") != "confirm"]
    single = rank_candidates([scored(r) for r in search])[0]
    ranked = {p.id: p for p in rank_candidates([scored(r) for r in records])}
    confirmed = ranked[summary.best.id]
    single_confirmed = ranked[single.id]
    assert single_confirmed.confirmed, "the single-run pick is the search's first candidate: always confirmed"
    return {
        "seed": seed, "single_id": single.id, "confirmed_id": confirmed.id, "same": single.id == confirmed.id,
        "single_val_one_run": single.val_accuracy, "single_test_one_run": single.test_accuracy,
        "single_test_mean": single_confirmed.test_mean, "confirmed_test_mean": confirmed.test_mean,
        "single_val_mean": single_confirmed.val_mean, "confirmed_val_mean": confirmed.val_mean,
        "confirmed_val_std": confirmed.val_std, "n_seeds": confirmed.n_seeds,
        "test_gain": round((confirmed.test_mean or 0) - (single_confirmed.test_mean or 0), 5),
        "optimism": round((single.val_accuracy or 0) - (single_confirmed.val_mean or 0), 5),
        "trainings": len(records), "wall_s": round(time.monotonic() - started, 1),
    }


def main() -> None:
    args = parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-confirm-"))
    rows = []
    for seed in args.seeds:
        row = campaign(root, seed, args)
        rows.append(row)
        print(f"seed {seed}: single-run pick {row['single_id']} (val {_pct(row['single_val_one_run'])} one run, "
              f"test {_pct(row['single_test_one_run'])}; over {row['n_seeds']} fresh seeds val "
              f"{_pct(row['single_val_mean'])} test {_pct(row['single_test_mean'])}) | confirmed pick "
              f"{row['confirmed_id']} (val {_pct(row['confirmed_val_mean'])} ± {_pct(row['confirmed_val_std'])}, "
              f"test {_pct(row['confirmed_test_mean'])}) | test gain {100 * row['test_gain']:+.2f} points; "
              f"{row['trainings']} trainings, {row['wall_s']} s", flush=True)
    gains = [row["test_gain"] for row in rows]
    totals = {
        "campaigns": len(rows), "confirmed_better": sum(g > 0 for g in gains), "tied": sum(g == 0 for g in gains),
        "confirmed_worse": sum(g < 0 for g in gains), "same_pick": sum(row["same"] for row in rows),
        "mean_test_gain_points": round(100 * statistics.mean(gains), 3),
        "mean_gain_when_different_points": round(100 * statistics.mean([g for r, g in zip(rows, gains) if not r["same"]]), 3)
        if any(not r["same"] for r in rows) else 0.0,
        "mean_single_run_optimism_points": round(100 * statistics.mean(row["optimism"] for row in rows), 3),
    }
    print(f"confirmed pick better on test in {totals['confirmed_better']} of {len(rows)} campaigns, tied in "
          f"{totals['tied']} (same pick {totals['same_pick']}), worse in {totals['confirmed_worse']}; mean test gain "
          f"{totals['mean_test_gain_points']:+.2f} points ({totals['mean_gain_when_different_points']:+.2f} when the "
          f"picks differ); the single run overstated its validation by {totals['mean_single_run_optimism_points']:.2f} "
          "points on average", flush=True)
    print(json.dumps({"args": vars(args), "totals": totals, "campaigns": rows}))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


if __name__ == "__main__":
    main()
