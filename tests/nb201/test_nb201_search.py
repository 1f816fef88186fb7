"""Searching the NAS-Bench-201 table: honest (signal only), never paying twice for a class."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

from archlab import tools
from archlab.sandbox.table import LookupTable, TableRow, read_table
from archlab.tools.ops.nb201 import canonical_cell

ROOT = Path(__file__).resolve().parents[2]
TABLE = Path("/work/shared/data/nb201/nb201_cifar10.csv")

pytestmark = pytest.mark.skipif(not TABLE.exists(), reason="NB201 table not present")


def bench():
    """The benchmark's search driver (benchmarks/ is not a package: load it by path, once)."""
    if "bench_nb201" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_nb201", ROOT / "benchmarks" / "bench_nb201.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_nb201"] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules["bench_nb201"]


@pytest.fixture(scope="module")
def table() -> LookupTable:
    return read_table(TABLE)


def shuffled_reports(table: LookupTable, seed: int) -> LookupTable:
    """The same table with test_acc_200ep permuted across rows (signal untouched)."""
    keys = list(table.rows)
    reports = [table.rows[k].report for k in keys]
    random.Random(seed).shuffle(reports)
    rows = {k: TableRow(table.rows[k].signal, r, table.rows[k].params, table.rows[k].flops)
            for k, r in zip(keys, reports)}
    return LookupTable(table.path, table.columns, rows, table.sha256)


@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic"])
def test_shuffling_the_reported_column_changes_no_decision(table, strategy):
    b = bench()
    original = b.search(strategy, 3, table, budget=30)
    shuffled = b.search(strategy, 3, shuffled_reports(table, 0), budget=30)
    assert original.cells == shuffled.cells and original.steps == shuffled.steps
    assert original.reports != shuffled.reports  # the shuffle did change what would be reported


@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic"])
def test_no_functional_class_is_queried_twice(table, strategy):
    run = bench().search(strategy, 5, table, budget=40)
    classes = [canonical_cell(c) for c in run.cells]
    assert len(run.cells) == 40 and len(set(classes)) == 40


def test_the_picked_cell_is_the_best_by_signal_so_far(table):
    run = bench().search("evolution", 1, table, budget=30)
    best = max(range(30), key=lambda i: run.signals[i])
    assert run.pick(30) == run.reports[best]
    assert run.pick(31) is None  # a budget the run never reached has no pick


def test_the_cell_op_compiles_to_the_benchmark_network(table):
    cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    dead = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    for c in (cell, dead):
        arch = tools.Arch.model_validate({"root": {"op": "nb201_cell", "params": {"cell": c}}})
        params = tools.count_params(tools.build(arch, (3, 32, 32), 10))
        assert round(params / 1e6, 4) == round(table.get(c).params / 1e6, 4)  # the table's params_M


def test_agentic_menus_offer_the_coder_only_unseen_structures(table):
    b = bench()
    backbone = b.Backbone("agentic", 2, [b.cell_arch(b.seed_cell(table, 2))], b.INPUT_SHAPE, config=b.CONFIG)
    executor = b.LookupExecutor(table)
    seen: set[str] = set()
    for step in range(40):
        p = backbone.propose(step)
        children = [tools.apply(p.parent_arch, m) for m in p.menu]
        assert not {tools.arch_hash(c) for c in children} & seen
        child = children[step % len(children)] if children else p.parent_arch  # any menu entry
        seen.add(tools.arch_hash(child))
        backbone.observe(f"e{step + 1}", child, executor.evaluate(
            b.EvalRequest(exp_id=f"e{step + 1}", arch=child.model_dump(), task="table")))
    assert len(backbone.what_uses) >= 3  # it learnt which kinds of change pay off
