"""The redesigned campaign wing decides exactly what the code before it decided.

The fixture was recorded from the code before issue 18's redesign (see
golden_decisions.py); every entry is re-run here and must match one for one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import golden_decisions as golden

EXPECTED = json.loads(golden.FIXTURE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", golden.TREE_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{len(c[2])}d")
def test_tree_searches_propose_the_recorded_moves(case):
    strategy, seed, shape, cap, steps = case
    assert golden.tree_decisions(strategy, seed, shape, cap, steps) == EXPECTED["trees"][f"{strategy}/{seed}/{shape}/{cap}"]


@pytest.mark.slow
@pytest.mark.skipif(not golden.TABLE.exists(), reason="NB201 table not present")
@pytest.mark.parametrize("key", sorted(EXPECTED["nb201"]))
def test_lookup_campaigns_query_the_recorded_cells(key, tmp_path):
    strategy, seed, *rest = key.split("/")
    workers = 2 if rest == ["workers2"] else 1
    assert golden.nb201_decisions(strategy, int(seed), tmp_path, workers=workers) == EXPECTED["nb201"][key]


@pytest.mark.slow
@pytest.mark.parametrize("case", golden.CAMPAIGN_CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_tree_campaigns_make_the_recorded_experiments(case, tmp_path: Path, cache_dir: Path):
    strategy, seed, cap, evals = case
    got = golden.campaign_decisions(strategy, seed, cap, evals, tmp_path, cache_dir)
    assert got == EXPECTED["campaigns"][f"{strategy}/{seed}/{cap}"]
