"""The agentic strategy: parents from the top-k by validation score, sometimes an elite of
the least-visited MAP-Elites cell; the coder chooses the move from the parent's menu, the
strategy's own pick is the fallback.

On trees the coder is offered every kind of move at the parent (agentic_menu.py): the same
legal moves random search and evolution draw from (macro moves and the size budget
included), so the strategies differ only in how they choose. What tends to work (a
convolutional front for signals and images, downsampling before widening, ...) is not
here: it is data in the knowledge room's principles library, read by the model.
On a closed cell space each step offers one kind at one place (guided_moves.py), as the
NAS-Bench-201 settings were measured; by default there the factory picks local search with
restarts instead (local_search.py), where neighbourhoods are small enough to use up.

When the best parents' neighbourhoods hold nothing new, iterated local search's
perturbation (a "kick": a few random edits) moves to a place with unseen neighbours.
"""

from __future__ import annotations

import random
from typing import ClassVar, Protocol

from archlab.records import Strategy
from archlab.search.agentic_menu import KindMenus
from archlab.search.archive import Archive, Entry
from archlab.search.base import StrategyBase
from archlab.search.guided_moves import MoveChooser
from archlab.search.proposal import Proposal, SearchConfig
from archlab.search.selection import exploit_or_explore, ranked
from archlab.search.space import MoveSpace
from archlab.tools import Arch, Edit


class AgenticSearch(StrategyBase):
    """Top-k or diverse-elite parents, a menu for the coder, a UCB-guided fallback."""

    name: ClassVar[Strategy] = "agentic"

    def __init__(self, seed: int, seeds: list[Arch], space: MoveSpace, config: SearchConfig) -> None:
        super().__init__(seed, seeds, space, config)
        # Trees: every kind of move at the parent. A cell space: one kind at one place per step.
        self.menus: MenuPolicy = (KindMenus(space, config.dedup_tries, config.menu_limit) if space.cell is None
                                  else MoveChooser(space, config.dedup_tries, bool(config.focus)))

    def _choose(self, step: int, rng: random.Random) -> Proposal:
        scored = self.archive.scored()
        if not scored:
            return self._random(step, rng, why="nothing scored yet:")
        parent, why = exploit_or_explore(scored, self.archive.grid, self.config.exploit, self.config.top_k, rng)
        # A parent whose every decided edit leads to a structure already seen has nothing new to
        # offer the coder: move on to the next best (bounded), so no step is wasted on a repeat.
        order = ranked(scored)
        fallbacks = [e for e in order if e.id != parent.id][: self.config.dedup_tries]
        for candidate in [parent, *fallbacks]:
            donor = next((e for e in order if e.arch_hash != candidate.arch_hash), None)
            proposal = self._offer(step, rng, candidate.id, candidate.arch, donor)
            if proposal is not None:
                if candidate is not parent:
                    why = f"{why}; its neighbours there are all seen, next best {candidate.id} instead"
                proposal.note = f"{why}; {proposal.note}"
                return proposal
        return self._kick(step, rng, parent, f"{why}; neighbourhoods used up")

    def _offer(self, step: int, rng: random.Random, parent_id: str, arch: Arch,
               donor: Entry | None) -> Proposal | None:
        """The coder's menu at `arch` and the strategy's own pick from it; None when nothing is fresh."""
        offer = self.menus.offer(arch, donor, rng)
        if offer is None:
            return None
        menu, default, note = offer
        crossing = default.kind == "crossover" or any(m.kind == "crossover" for m in menu)
        return Proposal(step=step, strategy=self.name, parent_ids=[parent_id], parent_arch=arch,
                        donor_id=donor.id if crossing and donor else None,
                        donor_arch=donor.arch if crossing and donor else None,
                        edit_kind=default.kind, path=default.path, menu=menu, default=default, note=note)

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
        note = f"{why}: {len(walk)} random edits of {parent.id}, then"
        proposal = self._offer(step, rng, parent.id, arch, None) if self.menus.offers_after_kick and walk else None
        if proposal is None:
            proposal = self._mutate(step, rng, parent.id, arch, f"{note} one more")
        else:
            proposal.note = f"{note} {proposal.note}"
        proposal.walk = walk
        return proposal

    def _learn(self, proposal: Proposal | None, entry: Entry) -> None:
        self.menus.learn(proposal, entry, self.archive)

    def _rejected(self, proposal: Proposal | None, child_hash: str) -> None:
        self.menus.learn_rejected(proposal, child_hash)


class MenuPolicy(Protocol):
    """How the agentic strategy builds the coder's menu at a parent and learns from the result
    (agentic_menu.KindMenus on trees, guided_moves.MoveChooser on a cell space)."""

    offers_after_kick: bool

    def offer(self, arch: Arch, donor: Entry | None, rng: random.Random) -> tuple[list[Edit], Edit, str] | None: ...

    def learn(self, proposal: Proposal | None, entry: Entry, archive: Archive) -> None: ...

    def learn_rejected(self, proposal: Proposal | None, child_hash: str) -> None: ...
