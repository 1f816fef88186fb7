"""The worker process: warm up once, lock itself down, then evaluate requests until told to stop.

Started by `pool.WorkerProcess` as ``[unshare -rn] python -m archlab.sandbox.worker
--in-fd R --out-fd W`` with a scrubbed environment and a scratch folder as its
working directory. Messages (see `protocol.py`):

- parent -> worker: ``{"type": "init", "task": Task, "device", "memory_mb", "threads", "scratch"}``
  then any number of ``{"type": "eval", "req": EvalRequest}`` (any other message, or EOF, ends it);
- worker -> parent: ``{"type": "ready", ...}`` once, then one ``{"type": "result", "result": Result}``
  per request, in order.

Warm-up imports torch and the tools, loads the task's arrays and runs a tiny
training step, so every lazily imported module is loaded before the audit hook
starts refusing things; only then does candidate code ever run here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

from archlab.records import Result
from archlab.sandbox import guard, proxies, protocol
from archlab.sandbox.evaluate import Workbench, evaluate, prepare
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.tasks import Task
from archlab.sandbox.trainer import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="archlab sandbox worker (started by the executor)")
    parser.add_argument("--in-fd", type=int, required=True)
    parser.add_argument("--out-fd", type=int, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    init = protocol.receive(args.in_fd)
    scratch = Path(init["scratch"])
    threads = int(init["threads"])
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    bench = prepare(Task.model_validate(init["task"]), init.get("device", "auto"))
    warm_up(bench)
    baseline_mb = guard.address_space_mb()
    limit_memory = bench.device == "cpu"  # CUDA maps huge address ranges: RLIMIT_AS would break it
    if limit_memory:
        guard.set_memory_limit(None, hard_mb=baseline_mb + float(init["memory_mb"]))
    guard.install_audit_hook(scratch)
    protocol.send(args.out_fd, {"type": "ready", "pid": os.getpid(), "device": bench.device,
                                "baseline_mb": baseline_mb, "warm_s": time.perf_counter() - started})
    while True:
        try:
            message = protocol.receive(args.in_fd)
        except protocol.ChannelClosed:
            return 0
        if message.get("type") != "eval":
            return 0
        result = serve(EvalRequest.model_validate(message["req"]), bench, limit_memory)
        protocol.send(args.out_fd, {"type": "result", "result": result.model_dump(mode="json")})


def serve(req: EvalRequest, bench: Workbench, limit_memory: bool) -> Result:
    """One evaluation under the request's memory and thread limits, with its own peak memory."""
    if limit_memory:
        guard.set_memory_limit(guard.address_space_mb() + req.limits.memory_mb)
    torch.set_num_threads(req.limits.threads)
    guard.reset_peak_rss()
    try:
        result = evaluate(req, bench)
    finally:
        if limit_memory:
            guard.set_memory_limit(None)  # back to the hard cap, so the worker itself can carry on
    result.peak_mem_mb = guard.peak_rss_mb()
    return result  # no gc.collect(): with torch loaded a full collection costs more than a short training run


def warm_up(bench: Workbench) -> None:
    """Exercise every code path an evaluation uses, so lazy imports happen before lock-down."""
    import archlab.tools as tools  # noqa: F401  (the tree, compiler and metrics)
    from archlab.tools import count_flops, measure_latency

    task = bench.task
    model = nn.Sequential(nn.Flatten(), nn.Linear(int(torch.Size(task.input_shape).numel()), task.num_classes))
    count_flops(model, tuple(task.input_shape))
    measure_latency(model, tuple(task.input_shape), repeats=1, warmup=0)
    model.to(bench.device)
    x, y = proxies.sample_batch(bench.data.x_train, bench.data.y_train, 4, 0)
    proxies.compute(model, x, y)
    train(model, bench.data, task.recipe.with_overrides({"eval_every": 1, "schedule": "cosine"}), 1, 0)
    Result(status="ok").model_dump(mode="json")


if __name__ == "__main__":
    sys.exit(main())
