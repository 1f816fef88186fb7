"""Selection rules the strategies share, as pure functions of state and an rng.

- every strategy's random edit (random search, evolution's mutation, warm-up samples and
  kicks): `kind_then_entry`, a kind of move drawn uniformly, then one of its entries;
- random: a parent drawn uniformly from the seeds and every scored candidate;
- evolution: regularized evolution (Real et al., 2019): a tournament of size S
  on the aging population of the last P scored candidates;
- agentic: mostly exploit (one of the top-k by validation score), sometimes an
  elite of the least-visited MAP-Elites cell; edit kinds and places that were
  used less, or improved their parent more often, are favoured (a UCB-style
  weight in the spirit of LLMasTool's diversity-guided planning). On a cell space,
  where a neighbourhood can be used up: local search with restarts instead
  (`SearchConfig.restarts`, see local_search.py).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Sequence, TypeVar

from archlab.search.archive import EliteGrid, Entry, Population

T = TypeVar("T")


def weighted_choice(items: Sequence[T], weights: Sequence[float], rng: random.Random) -> T:
    """One item drawn with probability proportional to its weight (uniform if all are 0)."""
    total = sum(weights)
    if total <= 0:
        return items[rng.randrange(len(items))]
    x = rng.random() * total
    for item, w in zip(items, weights):
        x -= w
        if x < 0:
            return item
    return items[-1]


def kind_then_entry(menu: Sequence[T], rng: random.Random) -> T:
    """One menu entry: a kind of move drawn uniformly among the kinds on the menu, then one of its
    entries uniformly (the menu's own order, i.e. tree order).

    Why not a uniform entry: a menu holds dozens of insertions for every macro move (66 entries
    on the MLP seed, 4 of them stems), so a uniform entry almost never grows the structure; a
    kind first gives each kind of move the same chance, which measured 3x more convolutional
    candidates within three draws (benchmarks/bench_moves.py). A menu of one kind (a closed
    cell space) takes exactly the draw it took before: no kind is drawn.
    """
    kinds = sorted({getattr(entry, "kind") for entry in menu})
    if len(kinds) > 1:
        kind = kinds[rng.randrange(len(kinds))]
        menu = [entry for entry in menu if getattr(entry, "kind") == kind]
    return menu[rng.randrange(len(menu))]


def ranked(entries: Sequence[Entry]) -> list[Entry]:
    """Scored entries, best validation score first; earlier observation wins ties."""
    return sorted((e for e in entries if e.score is not None), key=lambda e: (-(e.score or 0.0), e.order))


def tournament(population: Population, size: int, rng: random.Random) -> Entry:
    """Regularized evolution's parent: the best of `size` members drawn without replacement."""
    members = list(population.members)
    contestants = rng.sample(members, min(size, len(members)))
    return ranked(contestants)[0]


def exploit_or_explore(entries: Sequence[Entry], grid: EliteGrid, exploit: float, top_k: int,
                       rng: random.Random) -> tuple[Entry, str]:
    """Agentic parent: one of the top-k (exploit), else an elite of a least-visited cell."""
    best = ranked(entries)[:top_k]
    if rng.random() < exploit or not grid.elites:
        choice = best[rng.randrange(len(best))]
        return choice, f"top-{top_k} parent {choice.id} (val {choice.score:.4f})"
    rare = grid.least_visited()
    choice = rare[rng.randrange(len(rare))]
    label = choice.descriptor.label() if choice.descriptor else "?"
    return choice, f"diverse parent {choice.id} from a rarely visited cell ({label})"


def ucb_weights(options: Sequence[str], uses: Counter[str], wins: Counter[str]) -> list[float]:
    """Favour options that improved their parent often, and options tried rarely."""
    total = sum(uses[o] for o in options) + 1
    return [
        (wins[o] + 1) / (uses[o] + 2) + math.sqrt(math.log(total + 1) / (uses[o] + 1))
        for o in options
    ]
