"""Synthetic NB201 landscapes (benchmarks/nb201_landscape.py): tables over the same cells and
classes as the real one, read by the same table code, shaped by their knobs; and the harness's
--help says what a table must hold."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from archlab.sandbox.table import read_table
from archlab.tools.ops.nb201 import canonical_cell

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_nb201  # noqa: E402
from nb201_landscape import SIGNAL_OFFSET, landscape_rows, write_landscape  # noqa: E402


@pytest.fixture(scope="module")
def smooth() -> dict[str, tuple[float, float]]:
    return landscape_rows(seed=7, ruggedness=0.0, noise=0.0)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    return write_landscape(tmp_path_factory.mktemp("landscape") / "synthetic_3.csv", seed=3)


def test_a_landscape_is_a_table_of_every_cell_with_one_row_per_class(written):
    table = read_table(written)
    assert len(table) == 15625 and table.columns.signal == "valid_acc_12ep"
    by_class: dict[str, set] = {}
    for cell, row in table.rows.items():
        by_class.setdefault(canonical_cell(cell), set()).add(row)
    assert all(len(rows) == 1 for rows in by_class.values())  # equivalent cells cannot disagree
    assert 90 < 100 * max(r.report for r in table.rows.values()) <= 94.4 + 1e-9


def test_the_knobs_shape_the_landscape(smooth):
    connected = [(s, r) for s, r in smooth.values() if r > 10.0]
    assert all(abs(r - s - SIGNAL_OFFSET) < 1e-9 for s, r in connected)  # no noise: the signal ranks as the report
    noisy = landscape_rows(seed=7, ruggedness=0.0, noise=2.0)
    assert any(abs(noisy[c][0] - smooth[c][0]) > 1.0 for c in list(smooth)[:500])
    rugged = landscape_rows(seed=7, ruggedness=2.0, noise=0.0)
    assert {c: v[1] for c, v in rugged.items()} != {c: v[1] for c, v in smooth.items()}
    assert landscape_rows(seed=8, ruggedness=0.0, noise=0.0) != smooth


def test_harness_help_says_what_a_table_holds(capsys):
    with pytest.raises(SystemExit):
        bench_nb201.main(["--help"])
    text = capsys.readouterr().out
    for words in ("arch", "valid", "test", "--synthetic", "params_M", "never reads"):
        assert words in text
    assert 10 in bench_nb201.BUDGETS and 25 in bench_nb201.BUDGETS


def test_the_plot_is_drawn_for_the_table_it_is_given(written, tmp_path):
    table = read_table(written)
    curves = {"random": [[80.0 + i / 10 for i in range(30)]] * 2, "agentic": [[81.0 + i / 10 for i in range(30)]] * 2}
    bench_nb201.plot(curves, tmp_path / "anytime.png", table)
    assert (tmp_path / "anytime.png").stat().st_size > 1000
