"""How often does a uniformly drawn menu move reach a small CNN? (No training.)

From the MLP seed, on the MNIST-1D shape (1, 40) under a 25k-parameter cap and on
an 8x8 image (1, 8, 8) (with the same cap, and without one), this walks 1-3 menu
entries drawn the way random search and evolution draw them today
(`menu[rng.randrange(len(menu))].sample(rng)`), or a kind first and then an entry
of it, and counts the walks that end on a convolutional candidate within the cap.
Four menus are compared: today's plain menu, plain with the size budget, plain
plus macro moves, and macros with the budget.

It also prints the make-up of each seed's menu (how many entries are macro moves,
how many are stems). Run: .venv/bin/python benchmarks/bench_moves.py [--walks N]
The last line is JSON: {"mnist1d_cap": {menu: {walk length: conv-in-cap fraction}}, ...}.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from typing import Any, Callable

from archlab.tools import (MACRO_KINDS, Arch, SizeBudget, apply, legal_edits, seeds, tree_params)
from archlab.tools.ir import iter_nodes

CAP = 25_000
CLASSES = 10
SETTINGS: dict[str, tuple[tuple[int, ...], int | None]] = {
    "mnist1d_cap": ((1, 40), CAP), "image8_cap": ((1, 8, 8), CAP), "image8_nocap": ((1, 8, 8), None)}
MENUS: dict[str, dict[str, Any]] = {
    "plain": {}, "plain+budget": {"budget": True}, "macros": {"macros": True},
    "macros+budget": {"macros": True, "budget": True}}


def has_conv(arch: Arch) -> bool:
    return any(n.op in ("conv", "sepconv") for _, n in iter_nodes(arch.root))


class Menus:
    """Menus of one setting, memoised by tree (a walk revisits the seed and its children)."""

    def __init__(self, shape: tuple[int, ...], cap: int | None, macros: bool = False, budget: bool = False):
        self.shape = shape
        self.options: dict[str, Any] = {"macros": macros}
        if budget and cap is not None:
            self.options["budget"] = SizeBudget(max_params=cap, num_classes=CLASSES)
        self._memo: dict[str, list[Any]] = {}

    def __call__(self, arch: Arch) -> list[Any]:
        key = arch.model_dump_json()
        if key not in self._memo:
            self._memo[key] = legal_edits(arch, self.shape, **self.options)
        return self._memo[key]


def uniform_entry(menu: list[Any], rng: random.Random) -> Any:
    return menu[rng.randrange(len(menu))]


def kind_then_entry(menu: list[Any], rng: random.Random) -> Any:
    kinds = sorted({e.kind for e in menu})
    kind = kinds[rng.randrange(len(kinds))]
    entries = [e for e in menu if e.kind == kind]
    return entries[rng.randrange(len(entries))]


def walk(menus: Menus, steps: int, draw: Callable[[list[Any], random.Random], Any], rng: random.Random) -> Arch:
    arch = seeds.mlp()
    for _ in range(steps):
        menu = menus(arch)
        if not menu:
            break
        arch = apply(arch, draw(menu, rng).sample(rng))
    return arch


def is_front_move(edit: Any) -> bool:
    """A move that makes or grows a conv front: stem, downsample, or a conv deepen."""
    return edit.kind in ("stem", "downsample") or (edit.kind == "deepen" and edit.fixed["op"] == "conv")


def stemmed(shape: tuple[int, ...], cap: int | None) -> Arch:
    """The seed after one stem (pool 4, 16 channels, kernel 5), sized to the cap when there is one."""
    budget = SizeBudget(max_params=cap, num_classes=CLASSES) if cap is not None else None
    stem = next(e for e in legal_edits(seeds.mlp(), shape, kinds=["stem"], budget=budget) if e.fixed["pool"] == 4)
    values = {"out_channels": 16, "kernel": 5, **({"hidden": 64} if "hidden" in stem.free else {})}
    return apply(seeds.mlp(), stem.fill(values))


def composition(shape: tuple[int, ...], cap: int | None) -> str:
    """Entries per kind on the seed and after a stem; the chance that one uniform draw (or a
    kind-first draw) is a macro move, and is the move that makes or grows the conv front."""
    rows = []
    for tree_name, arch in (("seed", seeds.mlp()), ("stemmed", stemmed(shape, cap))):
        for name, opts in MENUS.items():
            if opts.get("budget") and cap is None:
                continue
            menu = Menus(shape, cap, **opts)(arch)
            kinds = Counter(e.kind for e in menu)
            macro = sum(kinds[k] for k in MACRO_KINDS)
            fronts = Counter(e.kind for e in menu if is_front_move(e))
            front = sum(fronts.values())
            kind_first = sum(fronts[k] / kinds[k] for k in fronts) / len(kinds)
            rows.append(f"  {tree_name:7s} {name:14s} entries={len(menu):3d} macro={macro:2d} "
                        f"({macro / len(menu):5.1%}) conv-front moves={front} ({front / len(menu):5.1%}; "
                        f"kind first {kind_first:5.1%}) kinds={dict(sorted(kinds.items()))}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--walks", type=int, default=100, help="walks per (setting, menu, draw, length)")
    args = parser.parse_args()
    start = time.perf_counter()
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for setting, (shape, cap) in SETTINGS.items():
        print(f"== {setting}: MLP seed on {shape}, {CLASSES} classes, cap {cap or 'none'} "
              f"(seed has {tree_params(seeds.mlp(), shape, CLASSES):,} params)", flush=True)
        print(composition(shape, cap), flush=True)
        print(f"  {'menu':14s} {'draw':15s} {'len':>3s} {'in cap':>7s} {'conv':>6s} {'conv in cap':>11s}")
        summary[setting] = {}
        for name, opts in MENUS.items():
            if opts.get("budget") and cap is None:
                continue
            menus = Menus(shape, cap, **opts)
            for draw_name, draw in (("uniform entry", uniform_entry), ("kind first", kind_then_entry)):
                for steps in (1, 2, 3):
                    rng = random.Random(f"bench-moves/{setting}/{name}/{draw_name}/{steps}")
                    ends = [walk(menus, steps, draw, rng) for _ in range(args.walks)]
                    fits = [cap is None or tree_params(a, shape, CLASSES) <= cap for a in ends]
                    conv = [has_conv(a) for a in ends]
                    both = sum(f and c for f, c in zip(fits, conv)) / len(ends)
                    print(f"  {name:14s} {draw_name:15s} {steps:3d} {sum(fits) / len(ends):7.1%} "
                          f"{sum(conv) / len(ends):6.1%} {both:11.1%}", flush=True)
                    summary[setting].setdefault(f"{name}/{draw_name}", {})[str(steps)] = round(both, 3)
    print(f"walks per cell: {args.walks}; wall {time.perf_counter() - start:.0f} s")
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
