"""Benchmark: fidelity promotion and coder-written modules inside agentic campaigns.

Part 1 times a `mine` request (compile check + code mining of one of the mock
coder's modules) through a local sandbox worker: the cost of each module the
coder writes. Part 2 runs agentic campaigns (mock model, MNIST-1D, MLP and CNN
seeds, 25k-parameter cap) with the same evaluation budget, promotion on and
off, and prints per campaign: best validation / test accuracy (the best is a
full-fidelity result whenever one exists), trainings at low fidelity,
promotions and how many of them became the best, modules mined and trainings
that used a mined op. The last line is one JSON object with these figures.

    python benchmarks/bench_promotion.py                 # seed 0, promotion off then on, 20 evaluations, 800 steps
    python benchmarks/bench_promotion.py --evals 40 --steps 2000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from archlab.campaign import CampaignSettings, load_records, run_campaign
from archlab.campaign.workspace import Workspace
from archlab.llm.mock.modules import _BLOCKS  # the mock coder's answers: trusted sources to time mining with
from archlab.records import Budget, CampaignSpec, Constraints
from archlab.sandbox import EvalRequest, Limits, make_executor


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=20, help="evaluation budget per campaign")
    parser.add_argument("--steps", type=int, default=800, help="training steps at full fidelity")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mines", type=int, default=9, help="mine requests to time")
    return parser.parse_args()


def time_mining(count: int) -> dict[str, float]:
    started = time.perf_counter()
    with make_executor("mnist1d", workers=1) as executor:
        cold = time.perf_counter() - started
        sources = [_BLOCKS[name] for name in sorted(_BLOCKS)]
        walls = []
        for i in range(count):
            result = executor.submit(EvalRequest(exp_id=f"m{i}", arch={}, task="mnist1d", kind="mine",
                                                 source=sources[i % len(sources)], limits=Limits(time_s=60))).result()
            assert result.ok, result.error
            walls.append(result.wall_s)
    return {"mine_median_ms": round(1000 * statistics.median(walls), 1), "mine_max_ms": round(1000 * max(walls), 1),
            "pool_cold_start_s": round(cold, 2)}


def campaign(root: Path, seed: int, promote: bool, args: argparse.Namespace) -> dict:
    settings = CampaignSettings(workers=args.workers, embedder="hashing", lightweight=True, write_report=False,
                                recipe_overrides={"steps": args.steps, "eval_every": max(1, args.steps // 10)},
                                promote_top_k=3 if promote else 0, module_every=8, grace_s=0.0)
    spec = CampaignSpec(goal="find a small accurate model for MNIST-1D", strategy="agentic", seed=seed,
                        constraints=Constraints(max_params=25_000), budget=Budget(max_evals=args.evals))
    folder = root / f"{'promote' if promote else 'plain'}-s{seed}"
    started = time.monotonic()
    summary = run_campaign(spec, folder, settings)
    records = load_records(Workspace(folder))
    results = {r["id"]: r["result"] for r in records}
    promoted = [r for r in records if (r.get("edit") or {}).get("kind") == "promote"]
    return {
        "seed": seed, "promote": promote, "best_id": summary.best.id if summary.best else None,
        "best_val": summary.best.val_accuracy if summary.best else None,
        "best_test": summary.best.test_accuracy if summary.best else None,
        "best_fidelity": summary.best.fidelity if summary.best else None,
        "evaluated": summary.evaluated,
        "low_fidelity": sum(1 for r in results.values() if r["status"] == "ok" and r["fidelity"] < 1.0),
        "promotions": len(promoted),
        "promotion_is_best": bool(summary.best and summary.best.id in {r["id"] for r in promoted}),
        "promotion_gain": [round(r["result"]["val_accuracy"] - results[r["parent_ids"][0]]["val_accuracy"], 4)
                           for r in promoted if r["result"]["status"] == "ok"],
        "modules_mined": summary.modules.mined, "modules_used": summary.modules.used,
        "wall_s": round(time.monotonic() - started, 1),
    }


def main() -> None:
    args = parse_args()
    mining = time_mining(args.mines)
    print(f"mine request: median {mining['mine_median_ms']} ms, max {mining['mine_max_ms']} ms "
          f"(pool cold start {mining['pool_cold_start_s']} s)", flush=True)
    root = Path(tempfile.mkdtemp(prefix="bench-promotion-"))
    rows = []
    for seed in args.seeds:
        for promote in (False, True):
            row = campaign(root, seed, promote, args)
            rows.append(row)
            print(f"seed {seed} promotion {'on ' if promote else 'off'}: best {row['best_id']} val "
                  f"{_pct(row['best_val'])} test {_pct(row['best_test'])} (fidelity {row['best_fidelity']}); "
                  f"{row['evaluated']} evaluations, {row['low_fidelity']} at low fidelity, {row['promotions']} "
                  f"promotions (val gain {row['promotion_gain']}, best is a promotion: {row['promotion_is_best']}); "
                  f"modules mined {row['modules_mined']}, trainings using one {row['modules_used']}; "
                  f"{row['wall_s']} s", flush=True)
    print(json.dumps({"mining": mining, "campaigns": rows}))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


if __name__ == "__main__":
    main()
