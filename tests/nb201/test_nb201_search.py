"""Searching the NAS-Bench-201 table: honest (signal only), never paying twice for a class."""

from __future__ import annotations

import csv
import importlib.util
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

from archlab import tools
from archlab.records import Result
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.table import NB201_INPUT_SHAPE, LookupExecutor, LookupTable, read_table
from archlab.search import SearchConfig, make_strategy
from archlab.tools.ops.nb201 import OPS, canonical_cell, parse_cell

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


@pytest.fixture(scope="module")
def shuffled_table(tmp_path_factory) -> Path:
    """The same CSV with test_acc_200ep permuted across rows (the signal column untouched)."""
    with TABLE.open(newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = header.index("test_acc_200ep")
    reports = [r[col] for r in body]
    random.Random(0).shuffle(reports)
    for row, value in zip(body, reports):
        row[col] = value
    path = tmp_path_factory.mktemp("shuffled") / "nb201_shuffled.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *body])
    return path


@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic"])
def test_shuffling_the_reported_column_changes_no_decision(shuffled_table, strategy, tmp_path):
    b = bench()
    original = b.search(strategy, 3, TABLE, budget=30, workdir=tmp_path)
    shuffled = b.search(strategy, 3, shuffled_table, budget=30, workdir=tmp_path)
    assert len(original.cells) == 30
    assert original.cells == shuffled.cells and original.steps == shuffled.steps
    assert original.reports != shuffled.reports  # the shuffle did change what would be reported


@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic", "agentic_random_coder"])
def test_no_functional_class_is_queried_twice(strategy, tmp_path):
    run = bench().search(strategy, 5, TABLE, budget=40, workdir=tmp_path)
    classes = [canonical_cell(c) for c in run.cells]
    assert len(run.cells) == 40 and len(set(classes)) == 40


def test_the_random_coder_variant_is_agentic_search_with_other_picks(tmp_path):
    b = bench()
    agentic, variant = (b.search(s, 5, TABLE, budget=40, workdir=tmp_path) for s in ("agentic", "agentic_random_coder"))
    assert variant.cells[0] == agentic.cells[0]  # the same seed cell, evaluated first
    assert variant.cells != agentic.cells  # then the coder's picks: seeded draws, not the mock's


def test_the_picked_cell_is_the_best_by_signal_so_far(tmp_path):
    run = bench().search("evolution", 1, TABLE, budget=30, workdir=tmp_path)
    best = max(range(30), key=lambda i: run.signals[i])
    assert run.pick(30) == run.reports[best]
    assert run.pick(31) is None  # a budget the run never reached has no pick


def test_every_strategy_starts_from_the_same_seed_cell(table, tmp_path):
    first = {s: bench().search(s, 7, TABLE, budget=1, workdir=tmp_path).cells[0] for s in ("random", "agentic")}
    assert first["random"] == first["agentic"] == bench().seed_cell(table, 7)


def test_the_cell_op_compiles_to_the_benchmark_network(table):
    cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    dead = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    for c in (cell, dead):
        arch = tools.Arch.model_validate({"root": {"op": "nb201_cell", "params": {"cell": c}}})
        params = tools.count_params(tools.build(arch, (3, 32, 32), 10))
        assert round(params / 1e6, 4) == round(table.get(c).params / 1e6, 4)  # the table's params_M


def test_agentic_menus_offer_the_coder_only_unseen_structures(table):
    seed = tools.seeds.by_name(f"nb201:{bench().seed_cell(table, 2)}")
    backbone = make_strategy("agentic", 2, [seed], NB201_INPUT_SHAPE, config=SearchConfig())
    executor = LookupExecutor(table)
    seen: set[str] = set()
    for step in range(40):
        p = backbone.propose(step)
        children = [tools.apply(p.parent_arch, m) for m in p.menu]
        assert not {tools.arch_hash(c) for c in children} & seen
        child = children[step % len(children)] if children else p.parent_arch  # any menu entry
        seen.add(tools.arch_hash(child))
        backbone.claim(child)
        result = executor.submit(EvalRequest(exp_id=f"e{step + 1}", arch=child.model_dump(), task="table")).result()
        backbone.observe(f"e{step + 1}", child, result)
    assert sum(backbone.moves.kind_uses.values()) >= 30  # and it counted which moves paid off


def test_a_claimed_structure_is_not_offered_while_its_result_is_pending(table):
    """With several workers the campaign proposes again before the last child's result is in."""
    seed = tools.seeds.by_name(f"nb201:{bench().seed_cell(table, 4)}")
    executor = LookupExecutor(table)

    def offered_after_step_one(claim: bool) -> tuple[str, set[str]]:
        # restarts=1: the seed is the climb's only sample, so steps 1 and 2 both climb from it
        backbone = make_strategy("agentic", 4, [seed], NB201_INPUT_SHAPE, config=SearchConfig(restarts=1))
        first = backbone.propose(0)
        backbone.observe("e1", first.parent_arch, executor.submit(
            EvalRequest(exp_id="e1", arch=first.parent_arch.model_dump(), task="table")).result())
        p = backbone.propose(1)
        picked = tools.apply(p.parent_arch, p.menu[-1])  # the coder took another entry than the default
        if claim:
            backbone.claim(picked)
        q = backbone.propose(2)  # step 1's result is still pending
        return tools.arch_hash(picked), {tools.arch_hash(tools.apply(q.parent_arch, m)) for m in q.menu}

    picked, offered = offered_after_step_one(claim=False)
    assert picked in offered  # unclaimed, the same structure would be offered (and paid) twice
    picked, offered = offered_after_step_one(claim=True)
    assert picked not in offered


def test_restarts_sample_cells_uniformly_whatever_the_seed():
    """Local search restarts from uniform samples: each edge's op is uniform, not biased to the seed's."""
    seed = tools.seeds.by_name("nb201:" + "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    backbone = make_strategy("agentic", 0, [seed], NB201_INPUT_SHAPE, config=SearchConfig(restarts=10))
    counts = Counter()
    for step in range(600):
        p = backbone.propose(step)
        child = p.parent_arch if p.default is None else tools.apply(p.parent_arch, p.default)
        if "random samples" in p.note:
            counts.update(parse_cell(p.parent_arch.root.params["cell"]))  # the sample, before the deduplicating edit
        backbone.observe(f"e{step + 1}", child, Result(status="ok", val_accuracy=0.5, params=1000))
    total = sum(counts.values())
    assert total >= 600  # a hundred restart samples or more: flat scores make every climb short
    shares = {op: counts[op] / total for op in OPS}
    assert all(abs(share - 0.2) < 0.05 for share in shares.values()), shares  # the seed's "none" too
    # (the children themselves hold fewer "none": cells that many dead edges make equivalent to
    # one already seen are redrawn, so no class is paid for twice)
