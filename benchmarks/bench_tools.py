"""Benchmark of archlab.tools on trees of 10, 100 and 1,000 nodes.

Prints, per size: the menu size and time to enumerate it (edits enumerated per
second), edits applied per second (each apply re-checks the edit against the
menu at its place and re-validates the tree), compile time and render+import
time. Side by side on the same trees it times the menu with the macro moves
(`macros=True`) and, up to 100 nodes, with a size budget as well (every entry
narrowed to children within the budget, counted in closed form). The last line
is `menu_ms_1000=<median ms for the default (plain) menu of a 1,000-node tree>`.
Run: .venv/bin/python benchmarks/bench_tools.py
"""

from __future__ import annotations

import random
import statistics
import time

import torch

from archlab.tools import Arch, Node, SizeBudget, apply, build, legal_edits, load_rendered, render
from archlab.tools.ir import count_nodes

INPUT_SHAPE = (1, 40)


def tree_of(n_nodes: int) -> Arch:
    """seq(conv, residual blocks of conv-norm-act, dropout padding, gap) with exactly n_nodes nodes."""
    blocks, pad = divmod(n_nodes - 3, 5)

    def block() -> Node:
        return Node(op="residual", children=[Node(op="seq", children=[
            Node(op="conv", params={"out_channels": 16, "kernel": 3}), Node(op="norm"), Node(op="act")])])

    children = [Node(op="conv", params={"out_channels": 16})]
    children += [block() for _ in range(blocks)] + [Node(op="dropout") for _ in range(pad)]
    children.append(Node(op="gap"))
    arch = Arch(root=Node(op="seq", children=children))
    assert count_nodes(arch.root) == n_nodes
    return arch


def timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def cpu_speed_ms() -> float:
    """A fixed pure-Python loop, to compare machines (about 100-150 ms on an idle modern core)."""
    start = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    return (time.perf_counter() - start) * 1000.0


def main() -> None:
    torch.set_num_threads(1)
    rng = random.Random(0)
    print(f"calibration_loop_ms={cpu_speed_ms():.0f}")
    menu_ms: dict[int, float] = {}
    for n in (10, 100, 1000):
        arch = tree_of(n)
        menu = legal_edits(arch, INPUT_SHAPE)
        menu_times = timed(lambda: legal_edits(arch, INPUT_SHAPE), 5 if n < 1000 else 3)
        menu_ms[n] = statistics.median(menu_times)
        picks = [rng.choice(menu).sample(rng) for _ in range(20 if n < 1000 else 10)]
        start = time.perf_counter()
        for edit in picks:
            apply(arch, edit)
        apply_s = (time.perf_counter() - start) / len(picks)
        build_ms = statistics.median(timed(lambda: build(arch, INPUT_SHAPE, 10), 3))
        render_ms = statistics.median(timed(
            lambda: load_rendered(render(arch, INPUT_SHAPE, 10)).build_model(), 3))
        print(f"nodes={n} menu_size={len(menu)} menu_ms={menu_ms[n]:.1f} "
              f"edits_enumerated_per_s={len(menu) / (menu_ms[n] / 1000):.0f} "
              f"edits_applied_per_s={1 / apply_s:.1f} compile_ms={build_ms:.1f} "
              f"render_import_ms={render_ms:.1f}")
    print(f"menu_ms_per_node: 10={menu_ms[10] / 10:.3f} 100={menu_ms[100] / 100:.3f} "
          f"1000={menu_ms[1000] / 1000:.3f} (flat = linear)")
    budget = SizeBudget(max_params=10**9, num_classes=10)  # a loose cap: every entry is judged, none dropped
    for n in (10, 100, 1000):
        arch = tree_of(n)
        repeats = 5 if n < 1000 else 3
        plain = statistics.median(timed(lambda: legal_edits(arch, INPUT_SHAPE), repeats))
        macros = statistics.median(timed(lambda: legal_edits(arch, INPUT_SHAPE, macros=True), repeats))
        line = (f"nodes={n} plain_menu_ms={plain:.1f} macros_menu_ms={macros:.1f} "
                f"macros_over_plain={macros / plain:.2f}x "
                f"macro_entries={len(legal_edits(arch, INPUT_SHAPE, macros=True)) - len(legal_edits(arch, INPUT_SHAPE))}")
        if n <= 100:
            budgeted = statistics.median(timed(lambda: legal_edits(arch, INPUT_SHAPE, macros=True, budget=budget), 3))
            line += f" budget_menu_ms={budgeted:.1f} budget_over_plain={budgeted / plain:.1f}x"
        print(line)
    print(f"menu_ms_1000={menu_ms[1000]:.1f}")


if __name__ == "__main__":
    main()
