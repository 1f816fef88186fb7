"""Where do random search and evolution go from the MLP seed? (The search alone, no training.)

Why evolution lost to random search at 30 evaluations (issue 16): this drives each strategy like
a one-worker campaign (propose, apply the default edit, observe) on the MNIST-1D shape (1, 40)
under a 25k-parameter cap, with a fake score that favours a convolutional front (val = 0.5,
+0.2 with a conv, plus hash noise of +-`--noise`/2), and counts per campaign: edits from the
seed (mean over candidates), convolutional candidates, candidates over the cap, draws redone
as duplicates, whether the best is convolutional, and the share of non-conv parents on whose
menu a `stem` (the one-move conv front) still fits under the cap. `--tournament` overrides
evolution's budget-scaled S (e.g. 2, the old rule at 30 evaluations) to compare rules.

Tune on seeds 100+ only (the default). Last line is JSON: {strategy: {figure: value}}.

    python benchmarks/bench_search_reach.py --evals 30 --seeds 100 101 102 --tournament 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
from typing import Any

from archlab import tools
from archlab.records import Constraints, Result
from archlab.search import SearchConfig, make_strategy
from archlab.tools.ir import iter_nodes

SHAPE, CAP, CLASSES = (1, 40), 25_000, 10


def has_conv(arch: tools.Arch) -> bool:
    return any(n.op in ("conv", "sepconv") for _, n in iter_nodes(arch.root))


def fake_result(arch: tools.Arch, params: int, noise: float) -> Result:
    digest = hashlib.sha256(tools.arch_hash(arch).encode()).digest()
    val = 0.5 + 0.2 * has_conv(arch) + noise * (digest[0] / 255 - 0.5)
    return Result(status="ok", val_accuracy=val, test_accuracy=val, params=params)


def campaign(strategy: str, seed: int, evals: int, noise: float, tournament: int | None) -> dict[str, float]:
    search = make_strategy(strategy, seed, [tools.seeds.mlp()], SHAPE, constraints=Constraints(max_params=CAP),
                           num_classes=CLASSES, max_evals=evals, config=SearchConfig(tournament=tournament))
    depth: dict[str, int] = {}
    convs = over_cap = 0
    stem_fits: list[bool] = []
    best = (-1.0, False)
    for step in range(evals):
        p = search.propose(step)
        if not has_conv(p.parent_arch):
            stem_fits.append(any(m.kind == "stem" for m in search.space.legal(p.parent_arch)))
        child = p.parent_arch if p.default is None else tools.apply(p.parent_arch, p.default)
        search.claim(child)
        params = tools.count_params(tools.build(child, SHAPE, CLASSES))
        cid = f"e{step + 1:04d}"
        depth[cid] = max([depth.get(i, 0) for i in p.parent_ids] or [0]) + len(p.walk) + (p.default is not None)
        if params > CAP:
            over_cap += 1
            result = Result(status="failed", failure="constraint", error=f"{params} > {CAP}")
        else:
            result = fake_result(child, params, noise)
            convs += has_conv(child)
            best = max(best, (result.val_accuracy or 0.0, has_conv(child)))
        search.observe(cid, child, result)
    return {"edits_from_seed": statistics.mean(depth.values()), "conv_candidates": convs, "over_cap": over_cap,
            "duplicates_redrawn": search.counts()["duplicates_avoided"], "best_is_conv": float(best[1]),
            "stem_fits_on_mlp_parents": statistics.mean(stem_fits) if stem_fits else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(100, 110)))
    parser.add_argument("--strategies", nargs="+", default=["random", "evolution"])
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--tournament", type=int, default=None, help="evolution's S (default: budget-scaled)")
    args = parser.parse_args()
    summary: dict[str, Any] = {}
    for strategy in args.strategies:
        runs = [campaign(strategy, seed, args.evals, args.noise, args.tournament) for seed in args.seeds]
        means = {k: round(statistics.mean(r[k] for r in runs), 3) for k in runs[0]}
        means["best_is_conv"] = int(sum(r["best_is_conv"] for r in runs))
        summary[strategy] = means
        print(f"{strategy:10s} {args.evals} evals, {len(runs)} seeds: " + ", ".join(f"{k} {v}" for k, v in means.items()),
              flush=True)
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
