"""Sandbox overhead: 40 evaluations of the MNIST-1D CNN seed at a short budget on a local pool.

(a) the sum of pure training time inside the workers, (b) the wall time of the
whole batch through the executor. With W workers, a perfect pool would take
a / W; overhead = b / (a / W) - 1 (goal: <= 10%). Also prints the pool's cold
start (goal: < 10 s) and the peak memory per worker.

Usage: python benchmarks/bench_sandbox.py [--evals 40] [--workers 2] [--fidelity 0.05] [--cache-dir DIR]
Last line: ``overhead_ratio=<b/(a/workers)> cold_start_s=<seconds>``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from archlab.sandbox.executor import make_executor
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.tasks import load_task
from archlab.tools import seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fidelity", type=float, default=0.05, help="fraction of the 6000-step recipe")
    parser.add_argument("--cache-dir", default=None, help="MNIST-1D cache (default: a fresh temporary folder)")
    args = parser.parse_args()
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="archlab-bench-cache-")

    started = time.perf_counter()
    task = load_task("mnist1d", cache_dir)  # generates the dataset once; not part of the pool's cold start
    print(f"dataset ready in {time.perf_counter() - started:.2f} s: {task.sizes}")

    started = time.perf_counter()
    executor = make_executor("mnist1d", workers=args.workers, cache_dir=cache_dir)
    cold_start_s = time.perf_counter() - started
    print(f"cold start of {executor.workers} workers: {cold_start_s:.2f} s "
          f"(network isolated: {executor.isolate_network})")

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
    print(f"peak memory per worker: max {max(r.peak_mem_mb or 0 for r in results):.0f} MiB "
          f"(median {statistics.median(r.peak_mem_mb or 0 for r in results):.0f} MiB)")
    print(f"overhead_ratio={ratio:.4f} cold_start_s={cold_start_s:.2f}")


if __name__ == "__main__":
    main()
