"""Local search with restarts, the agentic strategy on closed cell spaces.

White et al. (2021): local search is hard to beat on NAS benchmarks. Each step offers
the coder the unseen neighbours of the current climb's best (narrowed to the kinds of
change that improved a parent most often); at a local optimum, random samples (uniform
over the space) start the next climb. Results seen in earlier climbs are not climbed
into again, so a restart explores a new basin instead of sliding back.
"""

from __future__ import annotations

import random
from typing import ClassVar

from archlab.records import Strategy
from archlab.search.archive import Entry
from archlab.search.base import StrategyBase
from archlab.search.guided_moves import MoveChooser
from archlab.search.proposal import Proposal, SearchConfig
from archlab.search.selection import ranked
from archlab.search.space import MoveSpace
from archlab.tools import Arch


class LocalSearch(StrategyBase):
    """Climb from the best result of the current climb; restart from random samples at an optimum."""

    name: ClassVar[Strategy] = "agentic"

    def __init__(self, seed: int, seeds: list[Arch], space: MoveSpace, config: SearchConfig, restarts: int) -> None:
        super().__init__(seed, seeds, space, config)
        self.moves = MoveChooser(space, config.dedup_tries, config.focus if config.focus is not None else True)
        self.restarts = restarts
        # The current climb: the step it began at and its scored results.
        self._climb_step = 0
        self._climb: list[Entry] = []
        self._climbs = 1
        self._restart_left = max(0, restarts - (len(seeds) if config.seeds_first else 0))

    def _choose(self, step: int, rng: random.Random) -> Proposal:
        if self._restart_left > 0:
            self._restart_left -= 1
            return self._sample(step, rng, f"climb {self._climbs} starts from random samples:")
        if not self._climb:
            return self._sample(step, rng, f"climb {self._climbs} has no result yet:")
        parent = ranked(self._climb)[0]
        offer = self.moves.offer(parent.arch, None, rng)
        if offer is None:
            why = f"{parent.id} (val {parent.score:.4f}) is a local optimum, every neighbour seen"
            self._climbs += 1
            self._climb_step, self._climb, self._restart_left = step, [], self.restarts - 1
            return self._sample(step, rng, f"{why}; climb {self._climbs} starts from random samples:")
        menu, default, _ = offer
        kind, path = default.kind, default.path  # every entry of the menu is at one kind and place
        return Proposal(step=step, strategy=self.name, parent_ids=[parent.id], parent_arch=parent.arch,
                        edit_kind=kind, path=path, menu=menu, default=default,
                        note=f"climb {self._climbs} from its best {parent.id} (val {parent.score:.4f}); "
                             f"{kind} at {path}, {len(menu)} unseen neighbours there")

    def _sample(self, step: int, rng: random.Random, why: str) -> Proposal:
        """A random sample (uniform over a cell space); the coder is offered only unseen structures."""
        return self._random(step, rng, why=why, uniform=True, unseen_menu=True)

    def _learn(self, proposal: Proposal | None, entry: Entry) -> None:
        if proposal is not None and proposal.step >= self._climb_step and entry.score is not None:
            self._climb.append(entry)
        self.moves.learn(proposal, entry, self.archive)

    def _rejected(self, proposal: Proposal | None, child_hash: str) -> None:
        self.moves.learn_rejected(proposal, child_hash)
