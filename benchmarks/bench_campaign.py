"""Benchmark: what each strategy (and the coder's choice) buys at a fixed number of evaluations.

MNIST-1D from the MLP seed with a 25k-parameter cap, `--evals` (default 30 and 60) evaluations
per campaign, 5 seeds (default 0-4): random, evolution, agentic (mock coder) and agentic with
`coder: random` (the coder's pick replaced by a seeded uniform draw among the same menu
entries, everything else equal). Every strategy draws from the same moves (macro moves and
the size budget included), so the rows differ only in how they choose. Budgets are counted in
evaluations, not wall time, so the figures do not depend on the machine's load; each budget
is a campaign of its own (evolution's population scales with the budget, so the first 30 of
a 60-evaluation campaign are not a 30-evaluation campaign).

Then a 2-D image task the benchmark makes itself (`make_image_task`: 10x10 images of six
stroke shapes at random places with pixel noise, an .npz; not the tests' data): the same
strategies at `--image-evals`, and a logistic-regression baseline (scikit-learn) on the same
train/test split.

The score of a campaign is the TEST accuracy of the model it picks by VALIDATION accuracy.
Candidates train with the task's search recipe cut to `--steps` steps (default 300, about
a fifth of MNIST-1D's 1500: the documented cheaper recipe that lets 40+ campaigns run on a
2-core machine; every strategy trains with the same recipe). Campaigns run one after the
other, lightweight (decisions as in a full run), hashing embedder, one worker (no lag, so
each proposal sees every earlier result).

Prints a table (median, min-max over seeds), the seed-by-seed comparisons the claims rest on
(agentic - evolution, evolution - random, agentic - agentic_random_coder: seeds ahead, mean
difference and its standard error), and ends with one JSON line per budget,
`{"evals": 30, "random": ..., "evolution": ..., "agentic": ..., "agentic_random_coder": ...}`
(median best test accuracy, fractions), then one line for the image task,
`{"task": "image2d", "evals": 30, "logreg": ..., "random": ..., ...}`.

    python benchmarks/bench_campaign.py                        # the README's figures
    python benchmarks/bench_campaign.py --evals 30 --seeds 100 101 --image-evals 0   # tuning seeds
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from archlab.campaign import CampaignSettings, run_campaign
from archlab.records import Budget, CampaignSpec, Constraints

# (row name, strategy, coder setting)
CONFIGS = (("random", "random", "model"), ("evolution", "evolution", "model"),
           ("agentic", "agentic", "model"), ("agentic_random_coder", "agentic", "random"))
GOAL = "find a small accurate model"
IMAGE_SIDE, IMAGE_CLASSES = 10, 6


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, nargs="*", default=[30, 60], help="evaluation budgets (MNIST-1D)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--configs", nargs="+", default=[c[0] for c in CONFIGS], choices=[c[0] for c in CONFIGS])
    parser.add_argument("--image-evals", type=int, default=30, help="budget on the 2-D image task (0: skip it)")
    parser.add_argument("--image-seeds", type=int, nargs="+", default=None, help="default: --seeds")
    parser.add_argument("--image-configs", nargs="+", default=None, choices=[c[0] for c in CONFIGS],
                        help="default: --configs")
    parser.add_argument("--max-params", type=int, default=25_000)
    parser.add_argument("--steps", type=int, default=300, help="training steps at full fidelity")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep the campaign folders here")
    return parser.parse_args()


# ---- the 2-D task ---------------------------------------------------------------------------------


def _shape(kind: int, rng: np.random.Generator, side: int) -> np.ndarray:
    """One stroke shape (0 horizontal bar, 1 vertical bar, 2 diagonal, 3 anti-diagonal, 4 square
    outline, 5 plus) of random size at a random place."""
    img = np.zeros((side, side), dtype=np.float32)
    size = int(rng.integers(4, 7))
    r, c = (int(v) for v in rng.integers(0, side - size + 1, size=2))
    idx = np.arange(size)
    if kind == 0:
        img[r + size // 2, c:c + size] = 1
    elif kind == 1:
        img[r:r + size, c + size // 2] = 1
    elif kind == 2:
        img[r + idx, c + idx] = 1
    elif kind == 3:
        img[r + idx, c + size - 1 - idx] = 1
    elif kind == 4:
        img[r, c:c + size] = img[r + size - 1, c:c + size] = 1
        img[r:r + size, c] = img[r:r + size, c + size - 1] = 1
    else:
        img[r + size // 2, c:c + size] = img[r:r + size, c + size // 2] = 1
    return img


def make_image_task(path: Path, n_train: int = 3000, n_test: int = 1000, seed: int = 12345) -> Path:
    """A 1x10x10 image classification task (six shapes, random places and sizes, Gaussian pixel
    noise, random contrast) written as an .npz with x_train, y_train, x_test, y_test."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, IMAGE_CLASSES, size=n)
        x = np.stack([_shape(int(k), rng, IMAGE_SIDE) * rng.uniform(0.6, 1.4) for k in y])
        x = x + rng.normal(0.0, 0.35, size=x.shape).astype(np.float32)
        return x[:, None].astype(np.float32), y.astype(np.int64)

    x_train, y_train = split(n_train)
    x_test, y_test = split(n_test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def logistic_baseline(path: Path) -> float:
    """Test accuracy of multinomial logistic regression on the raw pixels, trained on the
    same train split the campaigns train on (their validation part excluded)."""
    from sklearn.linear_model import LogisticRegression

    from archlab.sandbox.data import VAL_FRACTION, load_splits

    splits = load_splits(path, VAL_FRACTION, 0)
    x_train, y_train = (np.asarray(a) for a in (splits.x_train, splits.y_train))
    x_test, y_test = (np.asarray(a) for a in (splits.x_test, splits.y_test))
    model = LogisticRegression(max_iter=2000, C=1.0)
    model.fit(x_train.reshape(len(x_train), -1), y_train)
    return float(model.score(x_test.reshape(len(x_test), -1), y_test))


# ---- campaigns ------------------------------------------------------------------------------------


def campaign(root: Path, task: str, name: str, strategy: str, coder: str, seed: int, evals: int,
             args: argparse.Namespace) -> dict[str, Any]:
    """One campaign; its pick (best by validation) and how its candidates were made."""
    settings = CampaignSettings(workers=args.workers, embedder="hashing", lightweight=True, write_report=False,
                                recipe_overrides={"steps": args.steps, "eval_every": max(1, args.steps // 10)},
                                grace_s=0.0, coder=coder)
    spec = CampaignSpec(goal=GOAL, task=task, strategy=strategy, seed=seed, seed_archs=["mlp"],
                        constraints=Constraints(max_params=args.max_params), budget=Budget(max_evals=evals))
    started = time.monotonic()
    out = root / f"{task.replace(':', '-').replace('/', '_')[-40:]}-{name}-e{evals}-s{seed}"
    summary = run_campaign(spec, out, settings)
    best = summary.best
    convs = _conv_candidates(out)
    row = {"config": name, "seed": seed, "evals": evals, "val": best.val_accuracy if best else None,
           "test": best.test_accuracy if best else None, "params": best.params if best else None,
           "evaluated": summary.evaluated, "conv_candidates": convs, "best_has_conv": _has_conv(out, best),
           "seconds": round(time.monotonic() - started, 1)}
    print(f"  {name:21s} seed {seed}: test {_pct(row['test'])} (val {_pct(row['val'])}, "
          f"{row['params'] or 0:,} params, conv {'yes' if row['best_has_conv'] else 'no'}); "
          f"{summary.evaluated} evaluated, {convs} with a conv, {row['seconds']:.0f} s", flush=True)
    return row


def _records(out: Path) -> list[dict[str, Any]]:
    from archlab.campaign import load_records
    from archlab.campaign.workspace import Workspace

    return load_records(Workspace.open(out))


def _conv_candidates(out: Path) -> int:
    return sum('"conv' in json.dumps(r.get("arch")) for r in _records(out))


def _has_conv(out: Path, best: Any) -> bool:
    if best is None:
        return False
    return any(r["id"] == best.id and '"conv' in json.dumps(r.get("arch")) for r in _records(out))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _median(rows: list[dict[str, Any]]) -> float | None:
    known = [r["test"] for r in rows if r["test"] is not None]
    return round(statistics.median(known), 4) if known else None


def table(rows: list[dict[str, Any]], names: list[str]) -> dict[str, float | None]:
    """Print one line per config (median, min-max, conv counts); return the medians."""
    medians = {}
    for name in names:
        mine = [r for r in rows if r["config"] == name]
        tests = [r["test"] for r in mine if r["test"] is not None]
        medians[name] = _median(mine)
        spread = f"{_pct(min(tests))}-{_pct(max(tests))}" if tests else "-"
        print(f"  {name:21s} median {_pct(medians[name])}  range {spread}  "
              f"best is a CNN in {sum(r['best_has_conv'] for r in mine)}/{len(mine)}  "
              f"conv candidates {sum(r['conv_candidates'] for r in mine)}/{sum(r['evaluated'] for r in mine)}")
    return medians


# The comparisons the README's claims rest on: each row against the one below it in the claim.
PAIRS = (("agentic", "evolution"), ("evolution", "random"), ("agentic", "agentic_random_coder"))


def paired(rows: list[dict[str, Any]]) -> list[str]:
    """Seed-by-seed differences of test accuracy for PAIRS: how many seeds the first is ahead on,
    and the mean difference with its standard error. Every config runs on the same seeds, so the
    pairs carry the comparison; medians of a few seeds with wide spreads do not."""
    tests = {(r["config"], r["seed"]): r["test"] for r in rows}
    lines = []
    for first, second in PAIRS:
        diffs = [tests[first, seed] - tests[second, seed] for (name, seed) in tests
                 if name == first and tests.get((second, seed)) is not None and tests[first, seed] is not None]
        if not diffs:
            continue
        error = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("nan")
        lines.append(f"  {first} - {second}: ahead on {sum(d > 0 for d in diffs)}/{len(diffs)} seeds "
                     f"(behind on {sum(d < 0 for d in diffs)}), mean {100 * statistics.fmean(diffs):+.1f} points "
                     f"(standard error {100 * error:.1f})")
    return lines


def main() -> None:
    args = parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    root.mkdir(parents=True, exist_ok=True)
    configs = [c for c in CONFIGS if c[0] in args.configs]
    print(f"# MLP seed, max params {args.max_params:,}, {args.steps} steps per candidate, seeds {args.seeds}, "
          f"{args.workers} worker(s), folders under {root}", flush=True)
    lines = []
    if args.image_evals:  # first: the cheapest claim (does a default campaign grow a CNN on images?)
        path = make_image_task(root / "shapes10.npz")
        baseline = logistic_baseline(path)
        print(f"## 2-D images ({path.name}: 1x{IMAGE_SIDE}x{IMAGE_SIDE}, {IMAGE_CLASSES} shapes), "
              f"{args.image_evals} evaluations; logistic regression {_pct(baseline)}", flush=True)
        image_configs = [c for c in CONFIGS if c[0] in (args.image_configs or args.configs)]
        rows = [campaign(root, f"npz:{path}", name, strategy, coder, seed, args.image_evals, args)
                for seed in (args.image_seeds or args.seeds) for name, strategy, coder in image_configs]
        print("## 2-D images: best test accuracy of the pick by validation", flush=True)
        image_line = {"task": "image2d", "evals": args.image_evals, "logreg": round(baseline, 4),
                      **table(rows, [c[0] for c in image_configs])}
    for evals in args.evals:  # seed-major, so a run cut short still compares every config
        print(f"## MNIST-1D, {evals} evaluations", flush=True)
        rows = [campaign(root, "mnist1d", name, strategy, coder, seed, evals, args)
                for seed in args.seeds for name, strategy, coder in configs]
        print(f"## MNIST-1D, {evals} evaluations: best test accuracy of the pick by validation", flush=True)
        lines.append({"evals": evals, **table(rows, [c[0] for c in configs])})
        print("\n".join(paired(rows)), flush=True)
    if args.image_evals:
        lines.append(image_line)
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
