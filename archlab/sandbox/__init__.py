"""archlab.sandbox: train and score candidate trees under a budget, in bubblewrap jails.

Public API (see docs/CONTRACTS.md and docs/SANDBOX.md):

- `Task`, `TrainRecipe`, `load_task(name, cache_dir) -> Task` (`mnist1d`, `npz:PATH`, `table:PATH`),
  `TaskError` (one line).
- `EvalRequest`, `Limits`: what to evaluate and under which limits (`weights_path` asks for the
  trained weights as checked safetensors; `holdout` trains without a seeded part of the training data,
  `Holdout(seed, size)`, and pools its score with the validation split's, in a jail whose data holds
  neither's labels).
- `Executor` (protocol), `make_executor(task, kind="local"|"ray", workers=None, address=None,
  cache_dir=None, device="auto", limits=None, *, unsafe_sandbox=False, jail=None)`: futures that
  always resolve to a `records.Result`.
- `proxies.score(arch, task, seed)`: zero-cost proxies (synflow, naswot, grad_norm, proxy_s).
- `successive_halving(executor, candidates, task, ...)`: promote the best by validation to full budget.

Candidate code (mined ops, a coder's module) only ever runs inside a jailed
child process that never sees a validation or test label; the trusted parent
computes every metric. Nothing here knows about agents or language models.
"""

from archlab.sandbox import proxies
from archlab.sandbox.executor import Executor, make_executor
from archlab.sandbox.halving import HalvingOutcome, Rung, successive_halving
from archlab.sandbox.requests import EvalRequest, Holdout, Limits
from archlab.sandbox.tasks import Task, TaskError, TrainRecipe, default_cache_dir, load_task

__all__ = [
    "Task", "TrainRecipe", "TaskError", "load_task", "default_cache_dir",
    "EvalRequest", "Holdout", "Limits", "Executor", "make_executor",
    "proxies", "successive_halving", "HalvingOutcome", "Rung",
]
