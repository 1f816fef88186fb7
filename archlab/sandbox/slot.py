"""A local slot: one zygote (in its jail), the trusted checks before and after each evaluation.

Before: the policy (no model-written code without a jail unless allowed), the
tree checked and sized by trusted code (`invalid`, and `constraint` for trees
of built-in ops, which are never sent when they break a cap). During: the
zygote's exchange, bound to the request. After: leftovers (processes still
running, files outside the scratch folder) and refusals are `sandbox`
failures, the report is graded by the parent (`grading.py`), and requested
weights are checked and written where the caller asked.
"""

from __future__ import annotations

import collections
import time

from archlab.errors import one_line
from archlab.records import Result
from archlab.sandbox.costs import CostError, TrustedCosts
from archlab.sandbox.data import DataError
from archlab.sandbox.grading import grade_or_refuse
from archlab.sandbox.process import Exchange, WorkerStartError, ZygoteProcess
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.walls import Sandbox
from archlab.sandbox.weights import write_atomic

RESTART_BACKOFF_S = (0.5, 2.0, 5.0)  # pauses between attempts to replace a zygote that will not start
TIMINGS_KEPT = 1000


def closed_result(req: EvalRequest, why: str) -> Result:
    return Result(status="failed", failure="crashed", fidelity=req.fidelity, error=why)


def deliver_weights(result: Result, weights: bytes | None, req: EvalRequest) -> Result:
    """Write checked weights where the request asked (the caller's filesystem) and name them in the Result."""
    if weights is None or not req.weights_path:
        return result
    try:
        result.weights_file = str(write_atomic(weights, req.weights_path))
    except OSError as exc:
        return Result(status="failed", failure="crashed", fidelity=req.fidelity, wall_s=result.wall_s,
                      error=f"cannot write the weights to {req.weights_path}: {one_line(exc)}")
    return result


class LocalSlot:
    """A slot holding one zygote, replaced whenever it dies (timeouts kill it on purpose).

    A holdout request (`EvalRequest.holdout`) runs in a second zygote of the slot, jailed
    with that holdout's data (`Sandbox.for_request`); the slot keeps one such zygote, for
    the holdout it last served, beside its ordinary one.
    """

    def __init__(self, sandbox: Sandbox, index: int) -> None:
        self.sandbox, self.index = sandbox, index
        self.generation = 0
        self.restarts = 0
        self.zygote: ZygoteProcess | None = None
        self.side: tuple[Sandbox, ZygoteProcess] | None = None  # the zygote of the last holdout served
        self.timings: collections.deque[tuple[float, float]] = collections.deque(maxlen=TIMINGS_KEPT)

    def start(self) -> None:
        self.generation += 1
        self.zygote = self._launch(self.sandbox)

    def _launch(self, sandbox: Sandbox) -> ZygoteProcess:
        launch = sandbox.launch(f"worker{self.index}-{self.generation}")
        zygote = ZygoteProcess(launch, sandbox.config(launch), sandbox.root / f"worker{self.index}.log")
        zygote.start()
        return zygote

    def _zygote_for(self, sandbox: Sandbox) -> ZygoteProcess:
        """The running zygote for `sandbox`, started (or replaced) as needed; WorkerStartError if it cannot be."""
        if sandbox is self.sandbox:
            if self.zygote is None or not self.zygote.alive:
                self.start()
            assert self.zygote is not None
            return self.zygote
        if self.side is not None and (self.side[0] is not sandbox or not self.side[1].alive):
            self.side[1].stop()
            self.side = None
        if self.side is None:
            self.generation += 1
            self.side = (sandbox, self._launch(sandbox))
        return self.side[1]

    def run(self, req: EvalRequest) -> Result:
        """Evaluate `req`; writes the checked weights to `req.weights_path` when asked. Never raises."""
        return deliver_weights(*self.evaluate(req), req)

    def evaluate(self, req: EvalRequest) -> tuple[Result, bytes | None]:
        """The Result and, when asked for and checked, the weights' bytes (the Ray actor ships them)."""
        refused = self.sandbox.refusal(req)
        if refused is not None:
            return refused, None
        try:
            sandbox = self.sandbox.for_request(req)
        except (DataError, OSError) as exc:
            return Result(status="failed", failure="invalid", fidelity=req.fidelity, error=one_line(exc)), None
        checked = time.perf_counter()
        trusted, early = self._trusted(req, sandbox)
        checked = time.perf_counter() - checked
        if early is not None:
            return early, None
        try:
            zygote = self._zygote_for(sandbox)
        except WorkerStartError as exc:
            return closed_result(req, str(exc)), None
        capped = req.model_copy(update={"holdout": None, "limits": req.limits.model_copy(
            update={"memory_mb": min(req.limits.memory_mb, self.sandbox.limits.memory_mb)})})
        outcome = zygote.exchange(capped)  # the child is not told which samples were held out
        if isinstance(outcome, Result):
            return outcome, None
        graded = time.perf_counter()
        result = self._judge(req, outcome, trusted, sandbox, zygote)
        graded = time.perf_counter() - graded
        result.wall_s = outcome.wall_s
        if outcome.report is not None:  # the sandbox's own cost: trusted checks, fork, sweep, transfer, grading
            outside = max(0.0, outcome.wall_s - outcome.report.eval_s) + checked + graded
            self.timings.append((outcome.header.fork_ms, outside * 1000))
        return result, (outcome.weights if result.ok and req.weights_path else None)

    def heal(self) -> None:
        if self.zygote is not None and self.zygote.alive:
            return
        for pause in (0.0, *RESTART_BACKOFF_S):
            time.sleep(pause)
            try:
                self.start()
                self.restarts += 1
                return
            except WorkerStartError:
                continue

    def stop(self) -> None:
        if self.zygote is not None:
            self.zygote.stop()
        if self.side is not None:
            self.side[1].stop()
            self.side = None

    def abort(self) -> None:
        for zygote in (self.zygote, self.side[1] if self.side is not None else None):
            if zygote is not None:
                zygote.signal_kill()

    def _trusted(self, req: EvalRequest, sandbox: Sandbox) -> tuple[TrustedCosts | None, Result | None]:
        """The parent's own check and size of the tree; an `invalid` or `constraint` Result ends it here."""
        if req.kind == "mine":
            return None, None
        from archlab.tools import Arch, validate

        try:
            problems = validate(Arch.model_validate(req.arch), tuple(self.sandbox.task.input_shape))
        except ValueError as exc:  # ArchError
            return None, Result(status="failed", failure="invalid", fidelity=req.fidelity,
                                error=f"malformed tree: {one_line(exc)}")
        if problems:
            return None, Result(status="failed", failure="invalid", fidelity=req.fidelity, error="; ".join(problems[:3]))
        try:
            trusted = sandbox.grader.trusted_costs(req)
        except CostError as exc:
            return None, Result(status="failed", failure="invalid", fidelity=req.fidelity, error=str(exc))
        limits = req.constraints
        if trusted is not None and trusted.exact and limits is not None:
            breach = None
            if limits.max_params is not None and trusted.params > limits.max_params:
                breach = f"{trusted.params:,} parameters > max {limits.max_params:,}"
            elif limits.max_flops is not None and trusted.flops is not None and trusted.flops > limits.max_flops:
                breach = f"{trusted.flops:,} FLOPs > max {limits.max_flops:,}"
            if breach:
                return None, Result(status="failed", failure="constraint", fidelity=req.fidelity, error=breach,
                                    params=trusted.params, flops=trusted.flops)
        return trusted, None

    def _judge(self, req: EvalRequest, outcome: Exchange, trusted: TrustedCosts | None, sandbox: Sandbox,
               zygote: ZygoteProcess) -> Result:
        header = outcome.header
        if header.leftovers:
            more = f" (and {len(header.leftovers) - 1} more)" if len(header.leftovers) > 1 else ""
            return Result(status="failed", failure="sandbox", fidelity=req.fidelity,
                          error=f"the evaluation {header.leftovers[0]}{more}; the sandbox removed it")
        if outcome.report is None:
            tail = zygote.stderr_tail() if outcome.failure == "crashed" else ""
            return Result(status="failed", failure=outcome.failure or "crashed", fidelity=req.fidelity,
                          error=outcome.problem + (f"\n{tail}" if tail else ""))
        return grade_or_refuse(sandbox.grader, req, outcome.report, outcome.weights, trusted)
