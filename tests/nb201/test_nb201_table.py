"""The `table:PATH` lookup task: strict loading and an executor that answers at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.table import LookupExecutor, load_table_task, read_table
from archlab.sandbox.tasks import TaskError, load_task

TABLE = Path("/work/shared/data/nb201/nb201_cifar10.csv")
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ZERO = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
HEADER = "arch,valid_acc_12ep,test_acc_200ep,params_M,flops_M"

needs_table = pytest.mark.skipif(not TABLE.exists(), reason="NB201 table not present")


def cell_arch(cell: str) -> dict:
    return {"root": {"op": "nb201_cell", "params": {"cell": cell}, "children": []}}


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@needs_table
def test_the_benchmark_table_loads_as_a_lookup_task():
    task = load_task(f"table:{TABLE}")
    assert task.kind == "lookup" and task.input_shape == (3, 32, 32) and task.num_classes == 10
    table = read_table(TABLE)
    assert len(table) == 15625
    assert (table.columns.signal, table.columns.report) == ("valid_acc_12ep", "test_acc_200ep")
    best = table.get(BEST)
    assert best is not None and abs(best.report - 0.943733) < 1e-9 and 0 < best.signal < 1
    assert max(row.report for row in table.rows.values()) == best.report


@needs_table
def test_executor_answers_with_fractions_from_the_row():
    with LookupExecutor(TABLE) as ex:
        future = ex.submit(EvalRequest(exp_id="e0001", arch=cell_arch(BEST), task=f"table:{TABLE}"))
        assert future.done()
        result = future.result()
    assert result.ok and result.val_accuracy == pytest.approx(0.84384)
    assert result.test_accuracy == pytest.approx(0.943733) and result.params == 1073500
    assert ex.queries == 1


def test_executor_refuses_what_the_table_cannot_answer(tmp_path):
    path = write(tmp_path, HEADER, f"{BEST},84.0,94.0,1.0,100.0")
    ex = LookupExecutor(path)
    not_a_cell = {"root": {"op": "seq", "params": {}, "children": []}}
    result = ex.submit(EvalRequest(exp_id="e1", arch=not_a_cell, task="t")).result()
    assert not result.ok and result.failure == "invalid" and "nb201_cell" in result.error
    missing = ex.submit(EvalRequest(exp_id="e2", arch=cell_arch(ZERO), task="t")).result()
    assert not missing.ok and "not in table" in missing.error
    assert ex.queries == 0


@pytest.mark.parametrize(
    "lines, says",
    [
        (["arch,test_acc_200ep", f"{BEST},94.0"], "row 1 (header) has no signal"),
        ([HEADER, f"{BEST},84.0,94.0,1.0,100.0", f"{ZERO},9.0,10.0,0.1,1.0", f"{BEST},1,2,3,4"],
         "row 4: duplicate key"),
        ([HEADER, f"{ZERO},9.0,10.0,0.1,1.0", "|conv~0|+|none~0|,1,2,3,4"], "row 3: key is not a valid cell"),
        ([HEADER, f"{ZERO},nine,10.0,0.1,1.0"], "row 2: valid_acc_12ep is not a number"),
        ([HEADER, f"{ZERO},9.0,10.0"], "row 2 has 3 fields"),
        ([HEADER], "no data rows"),
    ],
)
def test_malformed_tables_are_refused_in_one_line_naming_the_row(tmp_path, lines, says):
    path = write(tmp_path, *lines)
    with pytest.raises(TaskError) as err:
        load_table_task(path)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_missing_table_file_is_one_line(tmp_path):
    with pytest.raises(TaskError) as err:
        load_task(f"table:{tmp_path / 'nope.csv'}")
    assert "cannot read" in str(err.value) and "\n" not in str(err.value)


def test_an_edited_table_is_read_again(tmp_path):
    """Parsing is cached per process (a benchmark runs hundreds of campaigns), but never stale."""
    path = write(tmp_path, HEADER, f"{BEST},90.0,94.0,1.0,100.0")
    assert read_table(path).get(BEST).signal == pytest.approx(0.90)
    write(tmp_path, HEADER, f"{BEST},91.5,94.0,1.0,100.0", f"{ZERO},10.0,10.0,0.1,1.0")
    assert read_table(path).get(BEST).signal == pytest.approx(0.915) and len(read_table(path)) == 2
