"""What every strategy shares: seeds first, observations matched to proposals in order,
the archive, and the random proposals (a uniform parent, a short random walk, a fresh edit,
each edit drawn kind first, then entry: `selection.kind_then_entry`).

Determinism and resume: a strategy is a pure function of its constructor arguments and
the sequence of `propose` / `claim` / `observe` calls. Step `i` draws from its own
`random.Random` derived from (seed, i), never from a clock or global state, so a resumed
campaign that replays the recorded calls in order reaches the same state.
"""

from __future__ import annotations

import random
from collections import deque
from typing import ClassVar

from archlab import tools
from archlab.records import Result, Strategy
from archlab.search.archive import Archive, Entry
from archlab.search.descriptors import describe
from archlab.search.population import resolved
from archlab.search.proposal import Proposal, SearchConfig
from archlab.search.selection import kind_then_entry
from archlab.search.space import MoveSpace
from archlab.tools import Arch, Edit


class StrategyBase:
    """Seeds first, then `_choose` (each strategy's own rule); observations feed the archive."""

    name: ClassVar[Strategy]

    def __init__(self, seed: int, seeds: list[Arch], space: MoveSpace, config: SearchConfig) -> None:
        config = resolved(config, None)  # the factory has scaled P and S to the budget already
        self.seed = seed
        self.seeds = seeds
        self.space = space
        self.config = config
        self.archive = Archive(config.population, config.pareto_cost)
        # Random edits per random proposal: one per slot on a cell space (a near-uniform sample).
        self.walk = config.random_walk or (len(space.cell.slots) if space.cell is not None else 1)
        self.rejected = 0  # constraint violations reported back (never trained)
        self._pending: deque[Proposal] = deque()

    # ---- the interface (see interface.py) ----------------------------------------------------

    def propose(self, step: int) -> Proposal:
        rng = random.Random(f"archlab-backbone/{self.seed}/{step}")  # the old name: the same draws as ever
        if self.config.seeds_first and step < len(self.seeds):
            proposal = Proposal(step=step, strategy=self.name, parent_ids=[], parent_arch=self.seeds[step],
                                note=f"seed {step} evaluated as given")
            self.space.see(tools.arch_hash(self.seeds[step]))
        else:
            proposal = self._choose(step, rng)
        self._pending.append(proposal)
        return proposal

    def claim(self, arch: Arch) -> None:
        self.space.see(tools.arch_hash(arch))

    def observe(self, candidate_id: str, arch: Arch, result: Result) -> None:
        proposal = self._pending.popleft() if self._pending else None
        arch_hash = tools.arch_hash(arch)
        self.space.see(arch_hash)
        if result.failure == "constraint":
            self.rejected += 1
            self._rejected(proposal, arch_hash)
            return
        entry = Entry(
            id=candidate_id, order=len(self.archive), arch=arch, arch_hash=arch_hash, result=result,
            parent_ids=list(proposal.parent_ids) if proposal else [],
            edit_kind=proposal.edit_kind if proposal else None,
            edit_path=proposal.path if proposal else None,
            descriptor=describe(arch, result) if result.ok else None,
        )
        self.archive.register(entry)
        self._learn(proposal, entry)

    def supersede(self, candidate_id: str, result: Result) -> bool:
        return self.archive.supersede(candidate_id, result)

    def best(self) -> Entry | None:
        return self.archive.best()

    def counts(self) -> dict[str, int]:
        return {"observed": len(self.archive), "rejected": self.rejected,
                "duplicates_avoided": self.space.duplicates_avoided, "elite_cells": len(self.archive.grid.elites)}

    # ---- what each strategy decides --------------------------------------------------------------

    def _choose(self, step: int, rng: random.Random) -> Proposal:
        raise NotImplementedError

    def _learn(self, proposal: Proposal | None, entry: Entry) -> None:
        """A hook: what an observed (scored or failed) proposal teaches the strategy."""

    def _rejected(self, proposal: Proposal | None, child_hash: str) -> None:
        """A hook: a proposal whose child broke a constraint (never trained)."""

    # ---- random proposals, shared ------------------------------------------------------------------

    def _pool(self) -> list[tuple[str, Arch]]:
        """Seeds and every scored candidate, as (id, arch)."""
        entries = self.archive.entries
        observed = {e.arch_hash for e in entries}
        pool = [(f"seed{i}", a) for i, a in enumerate(self.seeds) if tools.arch_hash(a) not in observed]
        return pool + [(e.id, e.arch) for e in entries if e.score is not None]

    def _random(self, step: int, rng: random.Random, why: str = "uniform parent", uniform: bool = False,
                unseen_menu: bool = False) -> Proposal:
        """A uniform parent, `walk - 1` random edits (or, with `uniform` on a cell space, a uniform
        sample of the space), then one fresh random edit."""
        pool = self._pool()
        parent_id, arch = pool[rng.randrange(len(pool))]
        if uniform and self.space.cell is not None:
            walk, arch = self._uniform_cell_walk(arch, rng)
        else:
            walk, arch = self._random_walk(arch, self.walk - 1, rng)
        proposal = self._mutate(step, rng, parent_id, arch, f"{why} {parent_id}, random legal edit", unseen_menu)
        proposal.walk = walk
        return proposal

    def _random_walk(self, arch: Arch, steps: int, rng: random.Random) -> tuple[list[Edit], Arch]:
        """Up to `steps` random legal edits of `arch` (kind first, then entry), and the tree they lead to."""
        walk: list[Edit] = []
        for _ in range(steps):
            menu = self.space.legal(arch)
            if not menu:
                break
            edit = kind_then_entry(menu, rng).sample(rng)
            walk.append(edit)
            arch = self.space.apply_listed(arch, edit)
        return walk, arch

    def _uniform_cell_walk(self, arch: Arch, rng: random.Random) -> tuple[list[Edit], Arch]:
        """Edits that set every slot of a cell to a choice drawn uniformly, so the result is a uniform
        sample of the space whatever the start (the restarts of local search). (The one random
        edit `_mutate` adds after it keeps the sample uniform: the edit graph is regular.)"""
        cell = self.space.cell
        assert cell is not None
        # A cell space's menu offers every slot every choice but the one it holds, as the same
        # edit whatever the other slots hold (CellSpace). The walk sets each slot once, so a
        # slot still holds its starting choice when its turn comes: the starting tree's menu
        # answers for every step (listing each intermediate tree's menu cost ~2 ms a slot).
        offered = {(m.fixed.get(cell.slot_param), m.fixed.get(cell.choice_param)): m
                   for m in reversed(self.space.legal(arch))}  # reversed: the first entry wins, as next() found it
        walk = []
        for slot in cell.slots:
            choice = cell.choices[rng.randrange(len(cell.choices))]
            edit = offered.get((slot, choice))
            if edit is not None:  # None: the slot already holds that choice
                walk.append(edit)
                arch = self.space.apply_listed(arch, edit)
        return walk, arch

    def _mutate(self, step: int, rng: random.Random, parent_id: str, arch: Arch, note: str,
                unseen_menu: bool = False) -> Proposal:
        """A random legal edit of `arch` (kind first, then entry; its free values sampled uniformly),
        redrawn while it gives a structure already seen.
        With `unseen_menu` (the coder picks) the menu offers only unseen structures and the default."""
        space = self.space
        menu_all = space.legal(arch)
        if not menu_all:
            return self._seed_again(step, rng, f"{parent_id} has no legal edit")
        edit = kind_then_entry(menu_all, rng).sample(rng)
        for _ in range(self.config.dedup_tries - 1):
            if space.fresh(arch, edit):
                break
            space.duplicates_avoided += 1
            edit = kind_then_entry(menu_all, rng).sample(rng)
        if not space.fresh(arch, edit):  # unlucky draws: take a decided entry known to be fresh, if any
            fresh = [m for m in menu_all if m.is_filled and space.fresh(arch, m)]
            if fresh:
                edit = fresh[rng.randrange(len(fresh))]
        menu = [m for m in menu_all if m.kind == edit.kind and m.path == edit.path]
        if unseen_menu:
            menu = [m for m in menu if m is edit or not m.is_filled or space.fresh(arch, m)]
        space.claim_edit(arch, edit)
        return Proposal(step=step, strategy=self.name, parent_ids=[parent_id], parent_arch=arch,
                        edit_kind=edit.kind, path=edit.path, menu=menu, default=edit, note=note)

    def _seed_again(self, step: int, rng: random.Random, why: str) -> Proposal:
        i = rng.randrange(len(self.seeds))
        return Proposal(step=step, strategy=self.name, parent_ids=[], parent_arch=self.seeds[i],
                        note=f"{why}: seed {i} again")
