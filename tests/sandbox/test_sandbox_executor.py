"""make_executor's checks and delegation, and successive halving's promotion rule (no workers needed)."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from archlab.records import Result
from archlab.sandbox.executor import Executor, make_executor
from archlab.sandbox.halving import rung_fidelities, successive_halving
from archlab.sandbox.tasks import TaskError

CELL_A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
CELL_B = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


@pytest.mark.parametrize("kwargs, expected", [
    ({"task": "imagenet"}, "unknown task 'imagenet'"),
    ({"task": "npz:/no/such/file.npz"}, "no such file"),
    ({"task": "mnist1d", "kind": "slurm"}, "unknown executor kind 'slurm'"),
    ({"task": "mnist1d", "workers": 0}, "workers must be at least 1"),
])
def test_bad_executor_requests_fail_fast_with_one_line(kwargs, expected, tmp_path):
    with pytest.raises(TaskError, match=expected) as err:
        make_executor(cache_dir=tmp_path, **kwargs)
    assert "\n" not in str(err.value)


def test_table_tasks_get_the_lookup_executor(tmp_path):
    table = tmp_path / "nb201.csv"
    table.write_text("arch,valid_acc_12ep,test_acc_200ep,params_M,flops_M\n"
                     f"{CELL_A},82.8340,93.6600,0.8024,116.6927\n"
                     f"{CELL_B},63.3640,85.8633,0.1293,17.9586\n")
    with make_executor(f"table:{table}") as executor:
        assert isinstance(executor, Executor)
        arch = {"root": {"op": "nb201_cell", "params": {"cell": CELL_A}}}
        from archlab.sandbox.requests import EvalRequest

        result = executor.submit(EvalRequest(exp_id="t", arch=arch, task=f"table:{table}")).result(timeout=5)
    assert result.ok and result.val_accuracy == pytest.approx(0.828340)


class ScriptedExecutor:
    """Answers from a table of (candidate, fidelity) -> Result: tests the promotion rule alone."""

    workers = 1

    def __init__(self, val: dict[str, float], test: dict[str, float], failing: set[str] = frozenset()):
        self.val, self.test, self.failing, self.seen = val, test, failing, []

    def submit(self, req):
        cid = req.exp_id.split("-rung")[0]
        self.seen.append((cid, req.fidelity))
        future: Future[Result] = Future()
        if cid in self.failing:
            future.set_result(Result(status="failed", failure="diverged", fidelity=req.fidelity))
        else:  # higher fidelity helps everyone equally, so the ranking is the val ranking
            future.set_result(Result(status="ok", val_accuracy=self.val[cid] * req.fidelity,
                                     test_accuracy=self.test[cid], fidelity=req.fidelity))
        return future

    def close(self):
        pass


def test_halving_promotes_by_validation_and_never_by_test():
    val = {f"c{i}": 0.5 + i / 100 for i in range(9)}
    test = {cid: 1.0 - v for cid, v in val.items()}  # test disagrees with validation everywhere
    executor = ScriptedExecutor(val, test, failing={"c8"})
    outcome = successive_halving(executor, {cid: {} for cid in val}, "mnist1d", min_fidelity=1 / 9, eta=3)
    assert [round(r.fidelity, 4) for r in outcome.rungs] == [0.1111, 0.3333, 1.0]
    assert outcome.rungs[0].promoted == ["c7", "c6", "c5"]  # c8 failed: never promoted
    assert outcome.rungs[1].promoted == ["c7"]
    assert outcome.best_id == "c7" and outcome.best.fidelity == 1.0
    assert sum(1 for _, f in executor.seen if f == 1.0) == 1


def test_rung_fidelities_end_at_full_budget():
    assert rung_fidelities(1.0, 3) == [1.0]
    assert rung_fidelities(0.2, 3) == pytest.approx([0.2, 0.6, 1.0])
    with pytest.raises(ValueError, match="min_fidelity"):
        rung_fidelities(0.0, 3)
