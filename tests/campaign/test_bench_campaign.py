"""The MNIST-1D strategy benchmark's seed-by-seed comparisons (what the README's claims rest on)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_campaign.py"


def bench():
    if "bench_campaign" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_campaign", BENCH)
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_campaign"] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules["bench_campaign"]


def rows(tests: dict[str, list[float | None]]) -> list[dict]:
    return [{"config": name, "seed": seed, "test": test} for name, values in tests.items()
            for seed, test in enumerate(values)]


def test_pairs_are_compared_seed_by_seed_with_a_standard_error():
    lines = bench().paired(rows({"random": [0.5, 0.55, 0.4], "evolution": [0.6, 0.5, 0.6],
                                 "agentic": [0.7, 0.8, 0.6], "agentic_random_coder": [0.65, 0.7, 0.5]}))
    assert lines[0] == "  agentic - evolution: ahead on 2/3 seeds (behind on 0), mean +13.3 points (standard error 8.8)"
    assert lines[1].startswith("  evolution - random: ahead on 2/3 seeds (behind on 1), mean +8.3 points")


def test_a_seed_without_a_pick_is_left_out_and_absent_configs_are_skipped():
    lines = bench().paired(rows({"evolution": [0.6, None], "agentic": [0.7, 0.9]}))
    assert lines == ["  agentic - evolution: ahead on 1/1 seeds (behind on 0), mean +10.0 points (standard error nan)"]
