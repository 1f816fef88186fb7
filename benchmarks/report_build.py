"""How long building a report takes, cold and during a run (cached learning curves).

Usage: .venv/bin/python benchmarks/report_build.py [--sizes 40 200]
Prints one line per figure; uses synthetic campaigns (tests/report/demo_campaign.py),
so it measures the report alone, not training.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from archlab.report import build_report, compare

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "report"))  # the test fixture
from demo_campaign import make_demo_campaign  # noqa: E402


class _Timed:
    """Wall and CPU seconds of one call (CPU time is the fairer figure on a busy machine)."""

    def __init__(self, action) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        self.wall, self.cpu = time.perf_counter() - wall, time.process_time() - cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall ({self.cpu:.2f} s CPU)"


def _timed(action) -> _Timed:
    return _Timed(action)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 200])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for size in args.sizes:
            folder = make_demo_campaign(root / f"c{size}", n_experiments=size)
            cold = _timed(lambda: build_report(folder))
            warm = _timed(lambda: build_report(folder))
            html = folder / "report.html"
            print(f"experiments={size}: cold build {cold}, refresh with cached curves {warm}, "
                  f"report.html {html.stat().st_size / 1e6:.2f} MB, report.md {(folder / 'report.md').stat().st_size / 1e3:.0f} kB")
        folders = [make_demo_campaign(root / s, strategy=s, n_experiments=40) for s in ("agentic", "evolution", "random")]
        seconds = _timed(lambda: compare(folders, root / "cmp"))
        print(f"compare 3 campaigns x 40 experiments: {seconds}")


if __name__ == "__main__":
    main()
