"""The NAS-Bench-201 cell: official strings, and the classes of equal function."""

from __future__ import annotations

import csv
import random
import statistics
from collections import defaultdict
from pathlib import Path

import pytest

from archlab.tools.errors import ArchError
from archlab.tools.ops.nb201 import (
    all_cells,
    canonical_cell,
    format_cell,
    live_edges,
    parse_cell,
    with_edge,
)

TABLE = Path("/work/shared/data/nb201/nb201_cifar10.csv")
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_official_string_round_trips_for_every_cell():
    cells = all_cells()
    assert len(cells) == 15625 and len(set(cells)) == 15625
    assert all(format_cell(parse_cell(c)) == c for c in cells[::97])


@pytest.mark.parametrize(
    "bad, why",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3 node groups"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
        ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "should read none~0"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 inputs"),
    ],
)
def test_malformed_cell_strings_are_refused_in_one_line(bad, why):
    with pytest.raises(ArchError) as err:
        parse_cell(bad)
    assert why in str(err.value) and "\n" not in str(err.value)


def test_dead_and_none_edges_do_not_change_the_class():
    # Node 1 never sees the input (its only input edge is none): its outgoing edges are dead.
    a = "|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    b = "|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert canonical_cell(a) == canonical_cell(b)
    assert live_edges(a) == (False, True, False, True, False, True)
    # Node 2 never reaches the output: what flows into it is irrelevant.
    c = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    d = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    assert canonical_cell(c) == canonical_cell(d)


def test_swapping_independent_inner_nodes_keeps_the_class_but_real_changes_do_not():
    a = "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    swapped = "|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    assert canonical_cell(a) == canonical_cell(swapped)
    assert canonical_cell(with_edge(a, 5, "nor_conv_1x1")) != canonical_cell(a)
    assert canonical_cell(with_edge(BEST, 3, "none")) != canonical_cell(BEST)


def test_cells_whose_output_is_cut_off_are_all_zero():
    cut = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"
    assert canonical_cell(cut) == "zero"
    assert live_edges(cut) == (False,) * 6


def _table_classes():
    by_class: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with TABLE.open() as f:
        for row in csv.DictReader(f):
            by_class[canonical_cell(row["arch"])].append(
                (float(row["valid_acc_12ep"]), float(row["test_acc_200ep"]))
            )
    return by_class


@pytest.mark.skipif(not TABLE.exists(), reason="NB201 table not present")
def test_cells_of_one_class_score_alike_on_the_benchmark():
    classes = _table_classes()
    assert len(classes) == 8765  # of 15,625 cells
    # Every cell whose output is cut off scores chance (10%), exactly.
    assert {t for _, t in classes["zero"]} == {10.0}
    # Same class: test accuracies agree within the training-seed noise of the table.
    pair_gaps = []
    for members in classes.values():
        tests = [t for _, t in members]
        pair_gaps += [abs(a - b) for i, a in enumerate(tests) for b in tests[i + 1:]]
    assert statistics.median(pair_gaps) < 0.25
    assert sum(g <= 1.0 for g in pair_gaps) / len(pair_gaps) > 0.99
    # ...whereas cells of different classes differ far more (the hash is not merging at random).
    rng = random.Random(0)
    reps = [members[0][1] for members in classes.values() if members[0][1] > 80]
    random_gaps = [abs(a - b) for a, b in (rng.sample(reps, 2) for _ in range(5000))]
    assert statistics.median(random_gaps) > 5 * statistics.median(pair_gaps)
