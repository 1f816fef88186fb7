"""The trusted parent grades: it holds the validation and test labels and computes every metric.

A child's report (`wire.ChildReport`) carries predictions and claims. Here the
claims are checked (predictions of exactly the expected shape, class ids in
range, the curve at exactly the expected steps, parameter and FLOP counts
against the trusted ones from `costs.py`, mined ops against the submitted
source) and the metrics are computed: validation and test accuracy and loss
from the logits, train accuracy from the probe's predictions, the curve's
validation accuracies. Anything that does not add up is a `sandbox` failure
with one line of why; it never becomes a score.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archlab.errors import one_line
from archlab.records import CurvePoint, Result
from archlab.sandbox.costs import CostBook, CostError, TrustedCosts
from archlab.sandbox.data import Splits
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.tasks import Task, TaskError
from archlab.sandbox.trainer import TRAIN_PROBE, curve_steps
from archlab.sandbox.weights import WeightsError, check_weights
from archlab.sandbox.wire import ChildReport, WireArray

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ClaimError(ValueError):
    """The sandbox's reply does not add up; `str()` is one line (recorded as a `sandbox` failure)."""


@dataclass(frozen=True)
class Labels:
    """What only the parent holds: every label, kept out of the sandbox."""

    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray

    @classmethod
    def from_splits(cls, splits: Splits) -> "Labels":
        return cls(splits.y_train, splits.y_val, splits.y_test)


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Share of correct class ids, in [0, 1]."""
    return float(np.mean(pred == y)) if len(y) else 0.0


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of float logits against labels (float64, numerically stable); nan if any is non-finite."""
    z = logits.astype(np.float64)
    if not np.isfinite(z).all():
        return float("nan")
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(y)), y])) if len(y) else 0.0


def train_probe_indices(n: int, seed: int) -> np.ndarray:
    """The same seeded probe of the training set as `trainer.train_probe`, drawn here for its labels."""
    return np.sort(np.random.default_rng(seed).permutation(n)[:TRAIN_PROBE])


class Grader:
    """Turns child reports into Results for one task; thread-safe (one per executor, shared by its slots)."""

    def __init__(self, task: Task, labels: Labels, scratch: Path) -> None:
        self.task, self.labels, self.scratch = task, labels, scratch
        self.classes = task.num_classes
        self.costs = CostBook(tuple(task.input_shape), task.num_classes)

    def trusted_costs(self, req: EvalRequest) -> TrustedCosts | None:
        """The parent's own counts for a train request (None for mining); CostError if the tree is unusable."""
        return None if req.kind == "mine" else self.costs.costs(req.arch)

    def grade(self, req: EvalRequest, report: ChildReport, trusted: TrustedCosts | None,
              weights: bytes | None = None) -> Result:
        """The Result of `req` from the child's report; ClaimError when a claim does not add up."""
        facts: dict = {"fidelity": 0.0 if req.kind == "mine" else req.fidelity, "device": report.device,
                       "peak_mem_mb": report.peak_mem_mb}
        if report.violations:  # recorded by the audit hook even if the candidate caught the exception
            more = f" (and {len(report.violations) - 1} more refusals)" if len(report.violations) > 1 else ""
            return Result(status="failed", failure="sandbox", error="\n".join(
                [report.violations[0] + more, *report.error.splitlines()[1:]]), **facts)
        if req.kind == "mine":
            return self._mined(req, report, facts)
        assert trusted is not None
        facts.update(self._costs(req, report, trusted))
        if report.status == "failed":
            return Result(status="failed", failure=report.failure or "crashed", error=report.error or "failed",
                          steps=min(report.steps, self._steps(req)), **facts)
        facts.update(latency_ms=report.latency_ms, proxies=dict(report.proxies), proxy_s=report.proxy_s)
        if req.fidelity == 0:
            if report.steps or report.curve or report.val_logits is not None:
                raise ClaimError("a screen-only request came back with training results")
            return Result(status="ok", steps=0, **facts)
        steps = self._steps(req)
        if report.steps > steps:
            raise ClaimError(f"reported {report.steps} training steps, {steps} were asked for")
        curve = self._curve(req, report, steps)
        facts.update(steps=report.steps, train_s=report.train_s, curve=curve)
        if report.diverged:
            return Result(status="failed", failure="diverged",
                          error=f"loss became NaN or infinite after {report.steps} steps", **facts)
        if report.steps != steps:
            raise ClaimError(f"reported {report.steps} training steps without diverging, {steps} were asked for")
        val_logits = self._logits(report.val_logits, len(self.labels.y_val), "validation")
        test_logits = self._logits(report.test_logits, len(self.labels.y_test), "test")
        probe = self._probe(req, report)
        val_loss, test_loss = cross_entropy(val_logits, self.labels.y_val), cross_entropy(test_logits, self.labels.y_test)
        if not (math.isfinite(val_loss) and math.isfinite(test_loss)):
            return Result(status="failed", failure="diverged",
                          error=f"the trained model's outputs are NaN or infinite after {report.steps} steps", **facts)
        if req.weights_path:
            facts["params"] = self._weights(report, weights, trusted)
        return Result(status="ok", val_accuracy=accuracy(val_logits.argmax(axis=1), self.labels.y_val), val_loss=val_loss,
                      test_accuracy=accuracy(test_logits.argmax(axis=1), self.labels.y_test), test_loss=test_loss,
                      train_accuracy=accuracy(probe, self.labels.y_train[train_probe_indices(
                          len(self.labels.y_train), req.seed)]), **facts)

    # ---- the checks ----------------------------------------------------------------------------

    def _steps(self, req: EvalRequest) -> int:
        try:
            recipe = self.task.recipe.with_overrides(req.recipe_overrides)
        except TaskError as exc:
            raise ClaimError(str(exc)) from None
        return max(1, round(req.fidelity * recipe.steps)) if req.fidelity > 0 else 0

    def _costs(self, req: EvalRequest, report: ChildReport, trusted: TrustedCosts) -> dict:
        """Params and FLOPs: the parent's own for built-in trees; the claim, checked, for mined ones."""
        if trusted.exact:
            return {"params": trusted.params, "flops": trusted.flops}
        if report.params is not None and report.params < trusted.params:
            raise ClaimError(f"claims {report.params:,} parameters, but the tree's built-in part alone has "
                             f"{trusted.params:,}")
        if report.flops is not None and trusted.flops is not None and report.flops < trusted.flops:
            raise ClaimError(f"claims {report.flops:,} FLOPs, but the tree's built-in part alone needs "
                             f"{trusted.flops:,}")
        cap = req.constraints.max_params if req.constraints is not None else None
        if report.status == "ok" and cap is not None and (report.params is None or report.params > cap):
            raise ClaimError(f"trained although its parameter count ({report.params}) does not meet the cap of {cap:,}")
        return {"params": report.params if report.params is not None else None, "flops": report.flops}

    def _curve(self, req: EvalRequest, report: ChildReport, steps: int) -> list[CurvePoint]:
        recipe = self.task.recipe.with_overrides(req.recipe_overrides)
        expected = [s for s in curve_steps(steps, recipe.eval_every) if s <= report.steps]
        got = [p.step for p in report.curve]
        if got != expected:
            raise ClaimError(f"learning curve at steps {got[:5]}..., expected {expected[:5]}...")
        return [CurvePoint(step=p.step, train_loss=p.train_loss,
                           val_accuracy=accuracy(self._classes(p.val_pred, len(self.labels.y_val), "validation"),
                                                 self.labels.y_val))
                for p in report.curve]

    def _logits(self, wire: WireArray | None, n: int, split: str) -> np.ndarray:
        return self._decode(wire, "float32", (n, self.classes), f"{split} logits")

    def _classes(self, wire: WireArray | None, n: int, what: str) -> np.ndarray:
        pred = self._decode(wire, "int64", (n,), f"{what} class ids")
        if n and (pred.min() < 0 or pred.max() >= self.classes):
            raise ClaimError(f"{what} class ids outside 0..{self.classes - 1}")
        return pred

    @staticmethod
    def _decode(wire: WireArray | None, dtype: str, shape: tuple[int, ...], what: str) -> np.ndarray:
        """The array, of exactly this dtype and shape; ClaimError otherwise."""
        if wire is None or wire.dtype != dtype:
            raise ClaimError(f"no {dtype} {what} in the reply")
        try:
            array = wire.decode()
        except ValueError as exc:
            raise ClaimError(f"{what}: {exc}") from None
        if array.shape != shape:
            raise ClaimError(f"{what} have shape {array.shape}, expected {shape}")
        return array

    def _probe(self, req: EvalRequest, report: ChildReport) -> np.ndarray:
        n = min(TRAIN_PROBE, len(self.labels.y_train))
        return self._classes(report.probe_pred, n, "train-probe")

    def _weights(self, report: ChildReport, weights: bytes | None, trusted: TrustedCosts) -> int:
        if not report.weights or weights is None:
            raise ClaimError("the trained weights were asked for but none came back")
        try:
            params = check_weights(weights, trusted, report.params, self.scratch)
        except WeightsError as exc:
            raise ClaimError(str(exc)) from None
        return trusted.params if trusted.exact else params

    def _mined(self, req: EvalRequest, report: ChildReport, facts: dict) -> Result:
        from archlab.tools import MinedOp

        facts["fidelity"] = 0.0
        if report.status == "failed":
            return Result(status="failed", failure=report.failure or "compile", error=report.error or "failed", **facts)
        if not report.mined_ops:
            raise ClaimError("mining succeeded without a single op")
        ops = []
        for raw in report.mined_ops:
            try:
                op = MinedOp.model_validate(raw)
            except ValueError as exc:
                raise ClaimError(f"a mined op is malformed: {one_line(exc, 200)}") from None
            if op.source != req.source:
                raise ClaimError(f"mined op {op.name} carries other source code than was submitted")
            if not IDENTIFIER.match(op.class_name) or op.name != f"mined.{op.class_name}" \
                    or f"class {op.class_name}" not in req.source:
                raise ClaimError(f"mined op {op.name!r} does not name a class of the submitted source")
            ops.append(op.model_dump(mode="json"))
        return Result(status="ok", error=one_line(report.error), steps=0, mined_ops=ops, **facts)


def grade_or_refuse(grader: Grader, req: EvalRequest, report: ChildReport, weights: bytes | None,
                    trusted: TrustedCosts | None) -> Result:
    """`grader.grade`, with a claim that does not add up turned into a recorded `sandbox` failure."""
    try:
        return grader.grade(req, report, trusted, weights)
    except (ClaimError, CostError) as exc:
        return Result(status="failed", failure="sandbox", fidelity=req.fidelity,
                      error=f"the sandbox's reply does not add up: {one_line(exc)}")
