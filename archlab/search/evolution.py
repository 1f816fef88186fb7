"""Regularized evolution (Real et al., 2019): a tournament of size S on the aging population
of the last P scored candidates, then one random legal edit; random proposals while the
population fills up."""

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
        population, size = self.archive.population, self.config.population
        if len(population) < size:
            return self._random(step, rng, why=f"warm-up {len(population)}/{size}:")
        parent = tournament(population, self.config.tournament, rng)
        return self._mutate(step, rng, parent.id, parent.arch,
                            f"tournament of {self.config.tournament} won by {parent.id} (val {parent.score:.4f})")
