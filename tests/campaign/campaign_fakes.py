"""Stand-ins for the slow rooms, so the loop's own guarantees test in seconds.

`JitterExecutor` resolves each evaluation after a random delay (its own seed), so
two runs finish evaluations in different orders; `GreedyBackbone` picks parents
from what it has observed, so any leak of timing into decisions would show.
Results are a pure function of the tree, like a deterministic trainer.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from concurrent.futures import Future
from typing import Any

from archlab import tools
from archlab.campaign import Wiring
from archlab.records import Budget, CampaignSpec, Constraints, Result
from archlab.search import Proposal


def fake_result(arch: Any, fidelity: float) -> Result:
    digest = int(hashlib.sha256(tools.arch_hash(arch).encode()).hexdigest()[:8], 16)
    # allow_code: a mined op here is the mock coder's own module, already mined by a real worker
    params = tools.count_params(tools.build(arch, (1, 40), 10, allow_code=True))
    val = 0.5 + (digest % 4000) / 10000 * fidelity
    return Result(status="ok", val_accuracy=val, test_accuracy=val - 0.01, params=params,
                  fidelity=fidelity, steps=10, wall_s=0.01)


class JitterExecutor:
    """Futures that resolve after a seeded random delay, out of submission order."""

    def __init__(self, jitter_seed: int, workers: int = 2, max_delay_s: float = 0.03, miner: Any = None) -> None:
        self.workers = workers
        self.miner = miner  # a real executor for `mine` requests (code mining needs a sandbox worker)
        self.submitted: list[str] = []
        self._rng = random.Random(jitter_seed)
        self._max = max_delay_s
        self._lock = threading.Lock()

    def submit(self, request: Any) -> Future[Result]:
        if getattr(request, "kind", "train") == "mine":
            if self.miner is not None:
                return self.miner.submit(request)
            done: Future[Result] = Future()
            done.set_result(Result(status="failed", failure="compile", error="this fake executor mines nothing"))
            return done
        future: Future[Result] = Future()
        with self._lock:
            delay = self._rng.uniform(0, self._max)
            self.submitted.append(request.exp_id)
        arch = tools.Arch.model_validate(request.arch)

        def finish() -> None:
            time.sleep(delay)
            future.set_result(fake_result(arch, request.fidelity))

        threading.Thread(target=finish, daemon=True).start()
        return future

    def close(self) -> None:
        pass


class GreedyBackbone:
    """A search strategy (archlab.search.SearchStrategy) that is not one of the real ones:
    seeds first, then a random legal edit on one of the best observed trees."""

    def __init__(self, seed: int, seed_archs: list[Any], input_shape: tuple[int, ...]) -> None:
        self.rng = random.Random(seed)
        self.seeds = seed_archs
        self.shape = input_shape
        self.seen: list[tuple[str, Any, Result]] = []

    def propose(self, step: int) -> Proposal:
        if step < len(self.seeds):
            return Proposal(step=step, strategy="agentic", parent_ids=[], parent_arch=self.seeds[step])
        ok = sorted((s for s in self.seen if s[2].ok), key=lambda s: -(s[2].val_accuracy or 0))[:3]
        exp, parent = (ok[self.rng.randrange(len(ok))][:2] if ok else ("", self.seeds[0]))
        menu = tools.legal_edits(parent, self.shape, kinds=["set_param", "insert", "swap_act"])
        self.rng.shuffle(menu)
        menu = menu[:12]
        return Proposal(step=step, strategy="agentic", parent_ids=[exp] if exp else [], parent_arch=parent,
                        menu=menu, default=menu[0].sample(self.rng))

    def claim(self, arch: Any) -> None:
        """Part of the backbone's contract; this fake does not avoid repeats, so nothing to note."""

    def observe(self, exp: str, arch: Any, result: Result) -> None:
        self.seen.append((exp, arch, result))

    def supersede(self, exp: str, result: Result) -> bool:
        """A promotion's better estimate replaces the one observed (the strategy contract)."""
        for i, (seen_exp, arch, _) in enumerate(self.seen):
            if seen_exp == exp and result.ok:
                self.seen[i] = (exp, arch, result)
                return True
        return False

    def best(self) -> None:
        return None

    def counts(self) -> dict[str, int]:
        return {"observed": len(self.seen)}


def wiring(jitter_seed: int, executors: list[JitterExecutor] | None = None, miner: Any = None) -> Wiring:
    """Collaborators for `run_campaign(..., wiring=...)`: the greedy search and the jittery executor."""

    def search(spec: CampaignSpec, task: Any) -> GreedyBackbone:
        seeds = [tools.seeds.by_name(name) for name in spec.seed_archs]
        return GreedyBackbone(spec.seed, seeds, tuple(task.input_shape))

    def executor(spec: CampaignSpec, settings: Any, task: Any) -> JitterExecutor:
        made = JitterExecutor(jitter_seed, settings.workers, miner=miner)
        if executors is not None:
            executors.append(made)
        return made

    return Wiring(search=search, executor=executor)


def make_spec(strategy: str = "agentic", evals: int = 10, seed: int = 0, max_params: int | None = None,
              seeds: tuple[str, ...] = ("mlp", "mnist1d_cnn")) -> CampaignSpec:
    return CampaignSpec(goal="find a small accurate model for MNIST-1D", strategy=strategy, seed=seed,
                        budget=Budget(max_evals=evals), constraints=Constraints(max_params=max_params),
                        seed_archs=list(seeds))
