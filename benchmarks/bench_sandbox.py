"""Sandbox overhead: 40 evaluations of the MNIST-1D CNN seed at a short budget on a local pool.

(a) the sum of pure training time inside the jailed children, (b) the wall time
of the whole batch through the executor. With W workers, a perfect pool would
take a / W; overhead = b / (a / W) - 1 (goal: <= 10%). Also prints the pool's
cold start (goal: < 10 s on 2 cores; zygotes import torch once, inside their
bubblewrap jails), the per-evaluation cost of the fork server (the zygote's
`fork()`, and everything outside the child: fork, sweep, wipe, transfer, the
parent's grading), the peak memory per worker and the load average, since
timings on a shared machine are only comparable at similar load.

Usage: python benchmarks/bench_sandbox.py [--evals 40] [--workers 2] [--fidelity 0.2] [--cache-dir DIR]
Last line: ``overhead_ratio=<b/(a/workers)> cold_start_s=<seconds> fork_ms=<median> per_eval_overhead_ms=<median>``.

With ``--baselines [--seeds 3]`` it instead reproduces the published MNIST-1D
baselines (MLP ~68%, CNN ~94% test accuracy) with the full 6000-step recipe:
(1) through the executor, as a campaign trains (4,000 training samples less a
400-sample validation split), and (2) with the published protocol, training
on all 4,000 samples, in-process (trusted seed trees only). Last line:
``mlp_test=<..> cnn_test=<..> mlp_test_published=<..> cnn_test_published=<..>``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from archlab.sandbox.executor import make_executor
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.tasks import load_task, mnist1d_recipe
from archlab.tools import seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fidelity", type=float, default=0.2,
                        help="fraction of the campaigns' 1500-step recipe (0.2: 300 steps)")
    parser.add_argument("--cache-dir", default=None, help="MNIST-1D cache (default: a fresh temporary folder)")
    parser.add_argument("--baselines", action="store_true", help="reproduce the published MNIST-1D baselines")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per baseline (with --baselines)")
    args = parser.parse_args()
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="archlab-bench-cache-")
    if args.baselines:
        baselines(cache_dir, args.workers, args.seeds)
        return

    started = time.perf_counter()
    task = load_task("mnist1d", cache_dir)  # generates the dataset once; not part of the pool's cold start
    print(f"dataset ready in {time.perf_counter() - started:.2f} s: {task.sizes}")

    print(f"load average before: {_load()}")
    started = time.perf_counter()
    executor = make_executor("mnist1d", workers=args.workers, cache_dir=cache_dir)
    cold_start_s = time.perf_counter() - started
    print(f"cold start of {executor.workers} workers: {cold_start_s:.2f} s ({executor.isolation})")

    arch = seeds.mnist1d_cnn().model_dump(mode="json")
    requests = [EvalRequest(exp_id=f"b{i:03d}", arch=arch, task="mnist1d", fidelity=args.fidelity, seed=i)
                for i in range(args.evals)]
    with executor:
        started = time.perf_counter()
        futures = [executor.submit(r) for r in requests]
        results = [f.result() for f in futures]
        batch_s = time.perf_counter() - started

    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} evaluations failed, first: {failed[0].failure}: {failed[0].error}")
    train_s = sum(r.train_s for r in results)
    worker_s = sum(r.wall_s for r in results)
    ideal_s = train_s / executor.workers
    ratio = batch_s / ideal_s
    steps = results[0].steps
    print(f"{args.evals} evaluations x {steps} steps (fidelity {args.fidelity}) on {executor.workers} workers")
    print(f"(a) pure training time, summed:      {train_s:8.2f} s  ({train_s / args.evals:.3f} s per evaluation)")
    print(f"    evaluation time seen per request: {worker_s:8.2f} s  (build, metrics, final scoring included)")
    print(f"(b) wall time of the batch:          {batch_s:8.2f} s")
    print(f"    ideal a / workers:               {ideal_s:8.2f} s")
    print(f"overhead b / (a / workers) - 1:      {100 * (ratio - 1):7.1f} %")
    print(f"val accuracy: median {statistics.median(r.val_accuracy for r in results):.3f}")
    print(f"peak memory per evaluation: max {max(r.peak_mem_mb or 0 for r in results):.0f} MiB "
          f"(median {statistics.median(r.peak_mem_mb or 0 for r in results):.0f} MiB)")
    timings = executor.timings()
    print(f"fork server, per evaluation (median): fork {timings['fork_ms']:.1f} ms; everything outside the "
          f"child (fork, sweep, wipe, transfer, grading) {timings['overhead_ms']:.1f} ms")
    print(f"load average after: {_load()}")
    print(f"overhead_ratio={ratio:.4f} cold_start_s={cold_start_s:.2f} fork_ms={timings['fork_ms']:.1f} "
          f"per_eval_overhead_ms={timings['overhead_ms']:.1f}")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def baselines(cache_dir: str, workers: int, n_seeds: int) -> None:
    """Full-budget MNIST-1D seeds: the campaign protocol through the pool, and the published protocol."""
    import numpy as np
    import torch

    from archlab.sandbox.grading import accuracy
    from archlab.sandbox.trainer import DeviceData, train
    from archlab.tools import build

    task = load_task("mnist1d", cache_dir)
    recipe = mnist1d_recipe()  # the published recipe, not the campaigns' shorter search recipe
    trees = {"mlp": seeds.mlp(), "cnn": seeds.mnist1d_cnn()}
    with make_executor("mnist1d", workers=workers, cache_dir=cache_dir) as executor:
        futures = {(name, s): executor.submit(EvalRequest(exp_id=f"{name}{s}", arch=tree.model_dump(mode="json"),
                                                          task="mnist1d", fidelity=1.0, seed=s,
                                                          recipe_overrides=recipe.model_dump()))
                   for name, tree in trees.items() for s in range(n_seeds)}
        campaign = {key: f.result() for key, f in futures.items()}
    torch.set_num_threads(1)
    with np.load(task.data_file) as raw:  # the published protocol: all 4,000 training samples, no validation split
        published = DeviceData.from_arrays({"x_train": raw["x_train"], "y_train": raw["y_train"],
                                            "x_val": raw["x_test"], "x_test": raw["x_test"]}, "cpu")
        y_test = raw["y_test"].astype(np.int64)
    figures = {}
    for name, tree in trees.items():
        runs = [campaign[(name, s)] for s in range(n_seeds)]
        if not all(r.ok for r in runs):
            raise SystemExit(f"{name}: {next(r.error for r in runs if not r.ok)}")
        tests, peaks = [], []
        for s in range(n_seeds):
            torch.manual_seed(s)
            model = build(tree, task.input_shape, task.num_classes)
            out = train(model, published, recipe, recipe.steps, s)  # the trainer predicts; accuracy is computed here
            tests.append(accuracy(out.test_logits.argmax(axis=1), y_test))
            peaks.append(max(accuracy(p.val_pred, y_test) for p in out.curve))  # "val" is the test split: reporting only
        figures[f"{name}_test"] = statistics.mean(r.test_accuracy for r in runs)
        figures[f"{name}_test_published"] = statistics.mean(tests)
        print(f"{name}: campaign protocol (3,600 train / 400 val): val {_spread([r.val_accuracy for r in runs])}, "
              f"test {_spread([r.test_accuracy for r in runs])}, {runs[0].train_s:.0f} s per run")
        print(f"{name}: published protocol (4,000 train):         test {_spread(tests)} at the end, "
              f"{_spread(peaks)} at its best checkpoint (every 250 steps)")
    print(" ".join(f"{k}={v:.4f}" for k, v in sorted(figures.items())))


def _spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} +- {100 * sd:.1f} %"


if __name__ == "__main__":
    main()
