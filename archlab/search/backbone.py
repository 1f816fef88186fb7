"""The deterministic backbone: it picks parents and the coarse move of every step.

Determinism and resume: the backbone is a pure function of its constructor
arguments and the sequence of `propose` / `observe` calls. Step `i` draws from
its own `random.Random` derived from (seed, i), never from a clock or global
state. To resume, create it again with the same arguments and replay the
recorded steps in their original order (`propose(i)`, then each recorded
`observe(...)` where it came); every later proposal is then the same.

`observe` calls are matched to proposals first-in first-out (the campaign
folds results in proposal order); the proposal's parent and move are used to
learn which kinds and places of edits pay off.
"""

from __future__ import annotations

import json
import random
from collections import Counter, deque
from typing import Any

from archlab import tools
from archlab.records import Constraints, Result, Strategy
from archlab.search.archive import EliteGrid, Entry, ParetoFront, Population
from archlab.search.constraints import check_constraints
from archlab.search.descriptors import describe
from archlab.search.proposal import BackboneConfig, Proposal
from archlab.search.stages import conv_front, front_grown, growable, sizable, stage_move, with_probe_stem
from archlab.search.strategies import exploit_or_explore, ranked, tournament, ucb_weights, weighted_choice
from archlab.tools.ops.nb201 import EDGES as CELL_EDGES
from archlab.tools.ops.nb201 import OPS as CELL_OPS
from archlab.tools.ops.nb201 import edge_name

STRATEGIES: tuple[str, ...] = ("random", "evolution", "agentic")
# Random samples that start each climb of local search on a cell space: on NAS-Bench-201 (tuning
# seeds 1000-1099, budget 100, menu focused) 10 measured 94.26 against 94.12 for the top-k
# parents; in a simulation of the table 5, 10 or 20 were alike.
CELL_RESTARTS = 10


class SearchError(ValueError):
    """Bad backbone input; `str()` is one line."""


class Backbone:
    """Populations, archives and the choice of the next move, for one campaign."""

    def __init__(self, strategy: Strategy, seed: int, seed_archs: list[Any], input_shape: tuple[int, ...],
                 constraints: Constraints | None = None, config: BackboneConfig | None = None,
                 num_classes: int | None = None) -> None:
        if strategy not in STRATEGIES:
            raise SearchError(f"unknown strategy {strategy!r}: expected random, evolution or agentic")
        if not seed_archs:
            raise SearchError("the backbone needs at least one seed architecture")
        self.strategy = strategy
        self.seed = seed
        self.input_shape = tuple(input_shape)
        self.constraints = constraints or Constraints()
        self.num_classes = num_classes  # only for the cap check of staged menus
        self._fit_memo: dict[str, bool] = {}
        self.config = config or BackboneConfig()
        self.seeds = [a if isinstance(a, tools.Arch) else tools.Arch.model_validate(a) for a in seed_archs]
        for i, arch in enumerate(self.seeds):
            problems = tools.validate(arch, self.input_shape)
            if problems:
                raise SearchError(f"seed {i} is invalid for input {self.input_shape}: {problems[0]}")
        # A cell search space (NAS-Bench-201) is closed under edge edits only: other edits
        # would leave the space the lookup table can answer.
        cells_only = all(a.root.op == "nb201_cell" for a in self.seeds)
        self.kinds = self.config.kinds or (["cell_edge"] if cells_only else None)
        self.walk = self.config.random_walk or (len(CELL_EDGES) if cells_only else 1)
        self.cells_only = cells_only
        default_restarts = CELL_RESTARTS if cells_only and strategy == "agentic" else 0
        self.restarts = default_restarts if self.config.restarts is None else self.config.restarts
        self.focus = self.config.focus if self.config.focus is not None else (not cells_only or self.restarts > 0)
        # The current climb (restarts mode): the step it began at and its scored results.
        self._climb_step = 0
        self._climb: list[Entry] = []
        self._climbs = 1
        self._restart_left = max(0, self.restarts - (len(self.seeds) if self.config.seeds_first else 0))
        self._menus: dict[str, list[Any]] = {}  # arch JSON -> legal menu (pure, so safe to memoise)
        self._children: dict[tuple[str, str], str] = {}  # (arch JSON, edit JSON) -> child hash
        self.entries: list[Entry] = []
        self.population = Population(self.config.population)
        self.grid = EliteGrid()
        self.pareto = ParetoFront(self.config.pareto_cost)
        self.seen: set[str] = set()  # structures observed or already proposed as a default
        self.pending: deque[Proposal] = deque()
        self.kind_uses: Counter[str] = Counter()
        self.kind_wins: Counter[str] = Counter()
        self.place_uses: Counter[str] = Counter()
        self.what_uses: Counter[str] = Counter()  # per kind of change ("cell_edge:nor_conv_3x3")
        self.what_wins: Counter[str] = Counter()
        self.rejected = 0  # constraint violations reported back (never trained)
        self.duplicates_avoided = 0

    # ---- the two calls of the loop -------------------------------------------------------

    def propose(self, step: int) -> Proposal:
        """The parent(s), edit kind, place and legal menu for step `step` (0-based)."""
        rng = random.Random(f"archlab-backbone/{self.seed}/{step}")
        if self.config.seeds_first and step < len(self.seeds):
            proposal = Proposal(step=step, strategy=self.strategy, parent_ids=[], parent_arch=self.seeds[step],
                                note=f"seed {step} evaluated as given")
            self.seen.add(tools.arch_hash(self.seeds[step]))
        elif self.strategy == "random":
            proposal = self._random(step, rng)
        elif self.strategy == "evolution":
            proposal = self._evolution(step, rng)
        else:
            proposal = self._agentic(step, rng)
        self.pending.append(proposal)
        return proposal

    def observe(self, candidate_id: str, arch: Any, result: Result) -> None:
        """Fold in one evaluated (or rejected, or cached) candidate."""
        proposal = self.pending.popleft() if self.pending else None
        arch = arch if isinstance(arch, tools.Arch) else tools.Arch.model_validate(arch)
        arch_hash = tools.arch_hash(arch)
        self.seen.add(arch_hash)
        if result.failure == "constraint":
            # Count the move as tried and not improved, so the kinds, places and changes that
            # keep breaking a cap lose weight instead of being offered again and again.
            self.rejected += 1
            if proposal is not None and proposal.edit_kind is not None:
                self.kind_uses[proposal.edit_kind] += 1
                what = self._what_was_done(proposal, arch_hash)
                if what is not None:
                    self.what_uses[what] += 1
            return
        entry = Entry(
            id=candidate_id, order=len(self.entries), arch=arch, arch_hash=arch_hash, result=result,
            parent_ids=list(proposal.parent_ids) if proposal else [],
            edit_kind=proposal.edit_kind if proposal else None,
            edit_path=proposal.path if proposal else None,
            descriptor=describe(arch, result) if result.ok else None,
        )
        self.entries.append(entry)
        if proposal is not None and proposal.step >= self._climb_step and entry.score is not None:
            self._climb.append(entry)
        self.population.add(entry)
        self.grid.add(entry)
        self.pareto.add(entry)
        # A walk (random restart, kick) reached the edited tree by unscored edits: the parent's
        # score says nothing about what the last edit did, so it teaches nothing.
        if proposal is not None and proposal.edit_kind is not None and not proposal.walk:
            parent = self._by_id(proposal.parent_ids[0]) if proposal.parent_ids else None
            improved = entry.score is not None and parent is not None and entry.score > (parent.score or 0.0)
            self.kind_uses[proposal.edit_kind] += 1
            self.kind_wins[proposal.edit_kind] += improved
            what = self._what_was_done(proposal, arch_hash)
            if what is not None:
                self.what_uses[what] += 1
                self.what_wins[what] += improved

    def claim(self, arch: Any) -> None:
        """The campaign will evaluate `arch` (perhaps another menu entry than the default):
        never offer it again, even before its result is observed. Call it in the same place on
        resume and replay, like `propose` and `observe`."""
        arch = arch if isinstance(arch, tools.Arch) else tools.Arch.model_validate(arch)
        self.seen.add(tools.arch_hash(arch))

    # ---- read-only views ------------------------------------------------------------------

    def best(self) -> Entry | None:
        """The best candidate by validation score (earliest on ties)."""
        scored = [e for e in self.entries if e.score is not None]
        return min(scored, key=lambda e: (-(e.score or 0.0), e.order)) if scored else None

    def counts(self) -> dict[str, int]:
        return {"observed": len(self.entries), "rejected": self.rejected,
                "duplicates_avoided": self.duplicates_avoided, "elite_cells": len(self.grid.elites)}

    # ---- strategies -----------------------------------------------------------------------

    def _pool(self) -> list[tuple[str, Any]]:
        """Seeds and every scored candidate, as (id, arch)."""
        observed = {e.arch_hash for e in self.entries}
        pool = [(f"seed{i}", a) for i, a in enumerate(self.seeds) if tools.arch_hash(a) not in observed]
        return pool + [(e.id, e.arch) for e in self.entries if e.score is not None]

    def _random(self, step: int, rng: random.Random, why: str = "uniform parent", uniform: bool = False) -> Proposal:
        pool = self._pool()
        parent_id, arch = pool[rng.randrange(len(pool))]
        walk: list[Any] = []
        if uniform and self.cells_only:
            walk, arch = self._uniform_cell_walk(arch, rng)
        for _ in range(0 if uniform and self.cells_only else self.walk - 1):
            menu = self._legal(arch)
            if not menu:
                break
            edit = menu[rng.randrange(len(menu))].sample(rng)
            walk.append(edit)
            arch = tools.apply(arch, edit)
        proposal = self._mutate(step, rng, parent_id, arch, f"{why} {parent_id}, random legal edit")
        proposal.walk = walk
        return proposal

    def _uniform_cell_walk(self, arch: Any, rng: random.Random) -> tuple[list[Any], Any]:
        """Edits that set every edge of a cell to an op drawn uniformly, so the result is a uniform
        sample of the space whatever the start (the restarts of local search). (The
        one random edit `_mutate` adds after it keeps the sample uniform: the edit graph is regular.)"""
        walk = []
        for i in range(len(CELL_EDGES)):
            edge, op = edge_name(i), CELL_OPS[rng.randrange(len(CELL_OPS))]
            edit = next((m for m in self._legal(arch) if m.fixed.get("edge") == edge and m.fixed.get("op") == op), None)
            if edit is not None:  # None: the edge already has that op
                walk.append(edit)
                arch = tools.apply(arch, edit)
        return walk, arch

    def _evolution(self, step: int, rng: random.Random) -> Proposal:
        if len(self.population) < self.config.population:
            return self._random(step, rng, why=f"warm-up {len(self.population)}/{self.config.population}:")
        parent = tournament(self.population, self.config.tournament, rng)
        return self._mutate(step, rng, parent.id, parent.arch,
                            f"tournament of {self.config.tournament} won by {parent.id} (val {parent.score:.4f})")

    def _mutate(self, step: int, rng: random.Random, parent_id: str, arch: Any, note: str) -> Proposal:
        """A uniformly random legal edit of `arch`, redrawn while it gives a structure already seen."""
        menu_all = self._legal(arch)
        if not menu_all:
            return self._seed_again(step, rng, f"{parent_id} has no legal edit")
        edit = menu_all[rng.randrange(len(menu_all))].sample(rng)
        for _ in range(self.config.dedup_tries - 1):
            if self._fresh(arch, edit):
                break
            self.duplicates_avoided += 1
            edit = menu_all[rng.randrange(len(menu_all))].sample(rng)
        if not self._fresh(arch, edit):  # unlucky draws: take a decided entry known to be fresh, if any
            fresh = [m for m in menu_all if m.is_filled and self._fresh(arch, m)]
            if fresh:
                edit = fresh[rng.randrange(len(fresh))]
        menu = [m for m in menu_all if m.kind == edit.kind and m.path == edit.path]
        if self.strategy == "agentic" and self.restarts:  # the coder picks: only unseen structures (and the default)
            menu = [m for m in menu if m is edit or not m.is_filled or self._fresh(arch, m)]
        self._claim(arch, edit)
        return Proposal(step=step, strategy=self.strategy, parent_ids=[parent_id], parent_arch=arch,
                        edit_kind=edit.kind, path=edit.path, menu=menu, default=edit, note=note)

    def _agentic(self, step: int, rng: random.Random) -> Proposal:
        if self.restarts:
            return self._local_search(step, rng)
        scored = [e for e in self.entries if e.score is not None]
        if not scored:
            return self._random(step, rng, why="nothing scored yet:")
        parent, why = exploit_or_explore(scored, self.grid, self.config.exploit, self.config.top_k, rng)
        staged = self._staged(step, rng, parent, why)
        if staged is not None:
            return staged
        # A parent whose every decided edit leads to a structure already seen has nothing new to
        # offer the coder: move on to the next best (bounded), so no step is wasted on a repeat.
        order = ranked(scored)
        fallbacks = [e for e in order if e.id != parent.id][: self.config.dedup_tries]
        for candidate in [parent, *fallbacks]:
            donor = next((e for e in order if e.arch_hash != candidate.arch_hash), None)
            move = self._move(candidate.arch, donor, rng)
            if move is not None:
                if candidate is not parent:
                    why = f"{why}; its neighbours there are all seen, next best {candidate.id} instead"
                parent = candidate
                kind, path, menu = move
                break
        else:
            return self._kick(step, rng, parent, f"{why}; neighbourhoods used up")
        default = self._diverse_default(parent.arch, kind, menu, rng)
        self.place_uses[f"{kind}@{path}"] += 1
        return Proposal(step=step, strategy=self.strategy, parent_ids=[parent.id], parent_arch=parent.arch,
                        donor_id=donor.id if kind == "crossover" and donor else None,
                        donor_arch=donor.arch if kind == "crossover" and donor else None,
                        edit_kind=kind, path=path, menu=menu, default=default,
                        note=f"{why}; {kind} at {path} (tried {self.kind_uses[kind]}x, improved {self.kind_wins[kind]}x)")

    def _local_search(self, step: int, rng: random.Random) -> Proposal:
        """Local search with restarts (White et al., 2021: local search is hard to beat on NAS
        benchmarks): a fresh neighbour of the climb's best, or, once its neighbourhood is used
        up, random samples that start the next climb. Results seen in earlier climbs are not
        climbed into again, so a restart explores a new basin instead of sliding back."""
        if self._restart_left > 0:
            self._restart_left -= 1
            return self._random(step, rng, why=f"climb {self._climbs} starts from random samples:", uniform=True)
        if not self._climb:
            return self._random(step, rng, why=f"climb {self._climbs} has no result yet:", uniform=True)
        parent = ranked(self._climb)[0]
        move = self._move(parent.arch, None, rng)
        if move is None:
            why = f"{parent.id} (val {parent.score:.4f}) is a local optimum, every neighbour seen"
            self._climbs += 1
            self._climb_step, self._climb, self._restart_left = step, [], self.restarts - 1
            return self._random(step, rng, why=f"{why}; climb {self._climbs} starts from random samples:", uniform=True)
        kind, path, menu = move
        default = self._diverse_default(parent.arch, kind, menu, rng)
        self.place_uses[f"{kind}@{path}"] += 1
        return Proposal(step=step, strategy=self.strategy, parent_ids=[parent.id], parent_arch=parent.arch,
                        edit_kind=kind, path=path, menu=menu, default=default,
                        note=f"climb {self._climbs} from its best {parent.id} (val {parent.score:.4f}); "
                             f"{kind} at {path}, {len(menu)} unseen neighbours there")

    def _kick(self, step: int, rng: random.Random, parent: Entry, why: str) -> Proposal:
        """Iterated local search's perturbation: when the best neighbourhoods hold nothing new,
        a few random edits of the parent (more as tries fail) to a place with unseen neighbours."""
        arch, walk = parent.arch, []
        for attempt in range(self.config.dedup_tries):
            arch, walk = parent.arch, []
            for _ in range(1 + attempt // 4):
                menu = self._legal(arch)
                if not menu:
                    break
                edit = menu[rng.randrange(len(menu))].sample(rng)
                walk.append(edit)
                arch = tools.apply(arch, edit)
            if any(m.is_filled and self._fresh(arch, m) for m in self._legal(arch)):
                break
        proposal = self._mutate(step, rng, parent.id, arch, f"{why}: {len(walk) + 1} random edits of {parent.id}")
        proposal.walk = walk
        return proposal

    def _staged(self, step: int, rng: random.Random, parent: Entry, why: str) -> Proposal | None:
        """A coarse move that grows a conv front (see stages.py), until the best grown one is done.

        The move is made where it can be: first on the best candidate whose front is started
        (downsample, deepen), then on the best one with room for a stem, else the chosen parent
        is narrowed to make room. Each is one ordinary legal edit; the coder picks its values."""
        if not self.config.stages or self.kinds is not None or len(self.input_shape) != 2:
            return None
        order = [e for e in ranked(self.entries) if sizable(e.arch)]
        built = next((e for e in order if front_grown(e.arch)), None)
        if built is not None and stage_move(built.arch, self.input_shape, self._legal(built.arch), self._fits,
                                            lambda child: tools.arch_hash(child) not in self.seen) is None:
            return None  # the best grown front has nothing left to widen within the cap
        started = [e for e in order if growable(e.arch)]
        roomy = [e for e in order if conv_front(e.arch) == (conv_front(e.arch)[0], 0, 0)
                 and (probe := with_probe_stem(e.arch)) is not None and self._fits(probe)]
        tries = [(e, False) for e in started + roomy] + ([(parent, True)] if sizable(parent.arch) else [])
        for target, make_room in tries:
            move = stage_move(target.arch, self.input_shape, self._legal(target.arch), self._fits,
                              lambda child: tools.arch_hash(child) not in self.seen, make_room=make_room)
            if move is not None:
                break
        else:
            return None
        if target is not parent:
            why = f"coarse move on {target.id} (val {target.score:.4f}), where it can be made"
        default = self._diverse_default(target.arch, move.kind, move.menu, rng)
        self.place_uses[f"{move.kind}@{move.path}"] += 1
        return Proposal(step=step, strategy=self.strategy, parent_ids=[target.id], parent_arch=target.arch,
                        edit_kind=move.kind, path=move.path, menu=move.menu, default=default,
                        note=f"{why}; {move.label} ({move.kind} at {move.path}, {len(move.menu)} entries in the cap)")

    def _fits(self, arch: Any) -> bool:
        """Whether `arch` meets the parameter and FLOP caps (latency is left to the campaign's check:
        it is a measurement). Without `num_classes` the head is counted for 2 classes, a lower bound."""
        limits = Constraints(max_params=self.constraints.max_params, max_flops=self.constraints.max_flops)
        if limits.max_params is None and limits.max_flops is None:
            return True
        if arch.mined:  # building a mined op runs its code: only a sandbox may; no staged move there
            return False
        key = tools.arch_hash(arch)
        if key not in self._fit_memo:
            self._fit_memo[key] = check_constraints(arch, self.input_shape, self.num_classes or 2, limits) is None
        return self._fit_memo[key]

    def _move(self, arch: Any, donor: Entry | None, rng: random.Random) -> tuple[str, str, list[Any]] | None:
        """Kind and place of the next edit (under-explored and rewarding ones favoured) and its menu,
        without decided entries that give a structure already seen; None when nothing fresh is left."""
        crossover = donor is not None and (self.kinds is None or "crossover" in self.kinds)
        menu_all = self._legal(arch) + (self._legal(arch, donor=donor.arch, kinds=["crossover"]) if crossover else [])
        spots = sorted({(m.kind, m.path) for m in menu_all})
        while spots:
            kinds = sorted({k for k, _ in spots})
            kind = weighted_choice(kinds, ucb_weights(kinds, self.kind_uses, self.kind_wins), rng)
            paths = [p for k, p in spots if k == kind]
            path = weighted_choice(paths, [1.0 / (1 + self.place_uses[f"{kind}@{p}"]) for p in paths], rng)
            menu = [m for m in menu_all if m.kind == kind and m.path == path
                    and (not m.is_filled or self._fresh(arch, m))]
            if menu:
                return kind, path, self._focus(menu)
            spots.remove((kind, path))
        return None

    def _focus(self, menu: list[Any]) -> list[Any]:
        """Keep the entries whose kind of change ranks in the best third (UCB on how often it
        improved its parent; untried changes rank high), so the coder chooses among promising moves."""
        if not self.focus:
            return menu
        whats = sorted({_what(m) for m in menu})
        if len(whats) < 3:
            return menu
        weights = dict(zip(whats, ucb_weights(whats, self.what_uses, self.what_wins)))
        keep = set(sorted(whats, key=lambda w: (-weights[w], w))[: (len(whats) + 2) // 3])
        return [m for m in menu if _what(m) in keep]

    def _what_was_done(self, proposal: Proposal, child_hash: str) -> str | None:
        """Which menu entry produced the observed child (the coder may have chosen any).

        Only the agentic menu focus reads these counts, and finding the entry means building
        every child of the menu, so the other strategies and cell spaces skip it."""
        if not (self.strategy == "agentic" and self.focus):
            return None
        for m in proposal.menu:
            if m.is_filled and self._child_hash(proposal.parent_arch, m) == child_hash:
                return _what(m)
        return _what(proposal.default) if proposal.default is not None else None

    def _diverse_default(self, arch: Any, kind: str, menu: list[Any], rng: random.Random) -> Any:
        """The backbone's own pick: the least-used spot of the menu, a fresh structure if possible."""
        keys = [f"{kind}:{json.dumps(m.fixed, sort_keys=True, default=str)}" for m in menu]
        order = sorted(range(len(menu)), key=lambda i: (self.place_uses[keys[i]], rng.random()))
        spot, edit = order[0], menu[order[0]].sample(rng)
        for attempt in range(self.config.dedup_tries):
            i = order[attempt % len(order)]
            candidate = menu[i].sample(rng)
            if self._fresh(arch, candidate):
                spot, edit = i, candidate
                break
            self.duplicates_avoided += 1
        self.place_uses[keys[spot]] += 1
        self._claim(arch, edit)
        return edit

    # ---- helpers ----------------------------------------------------------------------------

    def _legal(self, arch: Any, donor: Any | None = None, kinds: list[str] | None = None) -> list[Any]:
        allowed = kinds or self.kinds
        if donor is not None:
            return tools.legal_edits(arch, self.input_shape, donor=donor, kinds=allowed)
        key = arch.model_dump_json()  # not the hash: equivalent cells have different menus
        if key not in self._menus:
            self._menus[key] = tools.legal_edits(arch, self.input_shape, kinds=allowed)
        return self._menus[key]

    def _child_hash(self, arch: Any, edit: Any) -> str:
        key = (arch.model_dump_json(), edit.model_dump_json())
        if key not in self._children:
            self._children[key] = tools.arch_hash(tools.apply(arch, edit))
        return self._children[key]

    def _fresh(self, arch: Any, edit: Any) -> bool:
        return self._child_hash(arch, edit) not in self.seen

    def _claim(self, arch: Any, edit: Any) -> None:
        self.seen.add(self._child_hash(arch, edit))

    def _seed_again(self, step: int, rng: random.Random, why: str) -> Proposal:
        i = rng.randrange(len(self.seeds))
        return Proposal(step=step, strategy=self.strategy, parent_ids=[], parent_arch=self.seeds[i],
                        note=f"{why}: seed {i} again")

    def _by_id(self, candidate_id: str) -> Entry | None:
        for e in reversed(self.entries):
            if e.id == candidate_id:
                return e
        return None


def _what(edit: Any) -> str:
    """The kind of change an edit makes, regardless of where: `cell_edge:nor_conv_3x3`, `insert:conv`."""
    return f"{edit.kind}:{edit.fixed.get('op') or edit.fixed.get('template') or edit.fixed.get('param') or ''}"
