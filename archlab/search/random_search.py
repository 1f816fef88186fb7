"""Random search: a parent drawn uniformly from the seeds and every scored candidate, then
random legal edits (on a closed cell space, one per slot: a near-uniform sample of the space)."""

from __future__ import annotations

import random
from typing import ClassVar

from archlab.records import Strategy
from archlab.search.base import StrategyBase
from archlab.search.proposal import Proposal


class RandomSearch(StrategyBase):
    """The baseline every other strategy must beat."""

    name: ClassVar[Strategy] = "random"

    def _choose(self, step: int, rng: random.Random) -> Proposal:
        return self._random(step, rng)
