"""Synthetic NAS-Bench-201 landscapes: a seeded table over the same 15,625 cells, in the same CSV
format, so every strategy runs through the same `table:PATH` campaign code on it.

Why: settings tuned on the one CIFAR-10 table may only fit that table. A landscape here is
smooth plus rugged: each live edge's op adds a seeded weight (smooth, additive), each pair of
live edges adds a seeded interaction scaled by `ruggedness` (epistasis), and the search signal
(`valid_acc_12ep`) is the report (`test_acc_200ep`) plus seeded noise of std `noise` points.
Equivalent cells (same `canonical_cell`, the classes a campaign's `arch_hash` merges) get the
same row, computed on the class's first cell with its dead edges set to none; a cell whose
output sees nothing of its input scores chance (10%), as in the real table.

Usage: python benchmarks/nb201_landscape.py --seed 3 [--ruggedness 1.0] [--noise 0.5] --out PATH
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archlab.tools.ops.nb201 import (  # noqa: E402
    EDGES, OPS, canonical_cell, format_cell, live_edges, parse_cell)

HEADER = "arch,valid_acc_12ep,test_acc_200ep\n"
CHANCE = 10.0
TOP, SPREAD = 94.4, 14.0  # the report spans [TOP - SPREAD, TOP] over connected cells, like CIFAR-10's
SIGNAL_OFFSET = 10.0  # the 12-epoch signal sits ~10 points under the 200-epoch report


def landscape_rows(seed: int, ruggedness: float = 1.0, noise: float = 0.5) -> dict[str, tuple[float, float]]:
    """cell string -> (signal %, report %) for all 5^6 cells."""
    rng = random.Random(f"nb201-landscape/{seed}")
    unary = {(e, op): rng.gauss(0.0, 1.0) for e in range(len(EDGES)) for op in OPS if op != "none"}
    pairs = {(e1, o1, e2, o2): rng.gauss(0.0, 1.0) for e1, e2 in itertools.combinations(range(len(EDGES)), 2)
             for o1 in OPS if o1 != "none" for o2 in OPS if o2 != "none"}
    cells = [format_cell(ops) for ops in itertools.product(OPS, repeat=len(EDGES))]
    classes: dict[str, list[str]] = {}
    for cell in cells:
        classes.setdefault(canonical_cell(cell), []).append(cell)
    latent: dict[str, float | None] = {}
    for key, members in classes.items():
        first = min(members)
        ops = [op if live else "none" for op, live in zip(parse_cell(first), live_edges(first))]
        if key == "zero":
            latent[key] = None
            continue
        live = [(e, op) for e, op in enumerate(ops) if op != "none"]
        score = sum(unary[e, op] for e, op in live)
        score += ruggedness * sum(pairs[e1, o1, e2, o2] for (e1, o1), (e2, o2) in itertools.combinations(live, 2))
        latent[key] = score
    known = [v for v in latent.values() if v is not None]
    low, high = min(known), max(known)
    rows: dict[str, tuple[float, float]] = {}
    noise_rng = random.Random(f"nb201-landscape-noise/{seed}")
    report_of = {key: CHANCE if v is None else TOP - SPREAD * (high - v) / max(1e-9, high - low)
                 for key, v in latent.items()}
    signal_of = {key: max(0.0, min(100.0, report - (0.0 if latent[key] is None else SIGNAL_OFFSET)
                                   + noise_rng.gauss(0.0, noise)))
                 for key, report in sorted(report_of.items())}
    for cell in cells:
        key = canonical_cell(cell)
        rows[cell] = (signal_of[key], report_of[key])
    return rows


def write_landscape(path: Path, seed: int, ruggedness: float = 1.0, noise: float = 0.5) -> Path:
    """Write the landscape's table CSV (header `arch,valid_acc_12ep,test_acc_200ep`) and return its path."""
    rows = landscape_rows(seed, ruggedness, noise)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for cell, (signal, report) in rows.items():
            out.write(f"{cell},{signal:.4f},{report:.4f}\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--ruggedness", type=float, default=1.0, help="weight of pairwise edge interactions")
    parser.add_argument("--noise", type=float, default=0.5, help="std of the signal's noise, in points")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    print(write_landscape(args.out, args.seed, args.ruggedness, args.noise))


if __name__ == "__main__":
    main()
