"""The agentic strategy on trees: parents from the top-k by validation score, sometimes an
elite of the least-visited MAP-Elites cell; the move chosen by what paid off before
(guided_moves.py); the coder picks from the menu, the strategy's own pick is the fallback.

When the best parents' neighbourhoods hold nothing new, iterated local search's
perturbation (a "kick": a few random edits) moves to a place with unseen neighbours.
On a closed cell space the agentic factory picks local search with restarts instead
(local_search.py), where neighbourhoods are small enough to use up.
"""

from __future__ import annotations

import random
from typing import ClassVar

from archlab.records import Strategy
from archlab.search.archive import Entry
from archlab.search.base import StrategyBase
from archlab.search.guided_moves import MoveChooser
from archlab.search.proposal import Proposal, SearchConfig
from archlab.search.selection import exploit_or_explore, ranked
from archlab.search.space import MoveSpace
from archlab.search.stages import Fits, StagedFront
from archlab.tools import Arch, Edit


class AgenticSearch(StrategyBase):
    """Top-k or diverse-elite parents, UCB-guided moves, a menu for the coder."""

    name: ClassVar[Strategy] = "agentic"

    def __init__(self, seed: int, seeds: list[Arch], space: MoveSpace, config: SearchConfig, fits: Fits) -> None:
        super().__init__(seed, seeds, space, config)
        focus = config.focus if config.focus is not None else space.cell is None
        self.moves = MoveChooser(space, config.dedup_tries, focus)
        self.stages = StagedFront(space, fits, self.moves) if StagedFront.applies(config, space) else None

    def _choose(self, step: int, rng: random.Random) -> Proposal:
        scored = self.archive.scored()
        if not scored:
            return self._random(step, rng, why="nothing scored yet:")
        parent, why = exploit_or_explore(scored, self.archive.grid, self.config.exploit, self.config.top_k, rng)
        if self.stages is not None:
            staged = self.stages.propose(step, rng, parent, why, self.archive.entries)
            if staged is not None:
                return staged
        # A parent whose every decided edit leads to a structure already seen has nothing new to
        # offer the coder: move on to the next best (bounded), so no step is wasted on a repeat.
        order = ranked(scored)
        fallbacks = [e for e in order if e.id != parent.id][: self.config.dedup_tries]
        for candidate in [parent, *fallbacks]:
            donor = next((e for e in order if e.arch_hash != candidate.arch_hash), None)
            move = self.moves.move(candidate.arch, donor, rng)
            if move is not None:
                if candidate is not parent:
                    why = f"{why}; its neighbours there are all seen, next best {candidate.id} instead"
                parent = candidate
                kind, path, menu = move
                break
        else:
            return self._kick(step, rng, parent, f"{why}; neighbourhoods used up")
        default = self.moves.diverse_default(parent.arch, kind, menu, rng)
        self.moves.used_place(kind, path)
        crossing = kind == "crossover" and donor is not None
        return Proposal(step=step, strategy=self.name, parent_ids=[parent.id], parent_arch=parent.arch,
                        donor_id=donor.id if crossing and donor else None,
                        donor_arch=donor.arch if crossing and donor else None,
                        edit_kind=kind, path=path, menu=menu, default=default,
                        note=f"{why}; {kind} at {path} ({self.moves.record(kind)})")

    def _kick(self, step: int, rng: random.Random, parent: Entry, why: str) -> Proposal:
        """Iterated local search's perturbation: when the best neighbourhoods hold nothing new,
        a few random edits of the parent (more as tries fail) to a place with unseen neighbours."""
        space = self.space
        arch: Arch = parent.arch
        walk: list[Edit] = []
        for attempt in range(self.config.dedup_tries):
            walk, arch = self._random_walk(parent.arch, 1 + attempt // 4, rng)
            if any(m.is_filled and space.fresh(arch, m) for m in space.legal(arch)):
                break
        proposal = self._mutate(step, rng, parent.id, arch, f"{why}: {len(walk) + 1} random edits of {parent.id}")
        proposal.walk = walk
        return proposal

    def _learn(self, proposal: Proposal | None, entry: Entry) -> None:
        self.moves.learn(proposal, entry, self.archive)

    def _rejected(self, proposal: Proposal | None, child_hash: str) -> None:
        self.moves.learn_rejected(proposal, child_hash)
