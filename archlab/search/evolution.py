"""Regularized evolution (Real et al., 2019): a tournament of size S on the aging population
of the last P scored candidates, then one random legal edit (kind first, then entry, like
every strategy's random edit); random proposals while the population fills up.

P and S scale with the evaluation budget (`population.population_for`), so a short campaign is not
spent on its warm-up: with P = 20, a 30-evaluation campaign trained 20 random samples and
evolved only 10 children, and at that budget it could not be told apart from random search.
When P scales, S is half of P (not Real et al.'s quarter): a quarter of a small population is a
tournament of two, too weak a selection to beat random search's uniform parent (see population.py).
"""

from __future__ import annotations

import random
from typing import ClassVar

from archlab.records import Strategy
from archlab.search.base import StrategyBase
from archlab.search.proposal import Proposal
from archlab.search.selection import tournament


class RegularizedEvolution(StrategyBase):
    """Aging evolution: the oldest member leaves, not the worst."""

    name: ClassVar[Strategy] = "evolution"

    def _choose(self, step: int, rng: random.Random) -> Proposal:
        population, size, contest = self.archive.population, self.archive.population.size, self.config.tournament
        if len(population) < size:
            return self._random(step, rng, why=f"warm-up {len(population)}/{size}:")
        parent = tournament(population, contest, rng)
        return self._mutate(step, rng, parent.id, parent.arch,
                            f"tournament of {contest} won by {parent.id} (val {parent.score:.4f})")
