"""The agentic strategies' choice of move: which kind of edit, where, and which menu to offer.

Kinds of edit that improved their parent more often, or were tried less, are favoured
(a UCB-style weight in the spirit of LLMasTool's diversity-guided planning); places
used less are favoured; the menu keeps only structures not seen yet and, with `focus`,
only the kinds of change that paid off most. Only an edit made on a scored parent
teaches which changes pay off: the last edit of a random walk (a restart sample, a
kick) does not, since its parent's score says nothing about it.
"""

from __future__ import annotations

import json
import random
from collections import Counter

from archlab.search.archive import Archive, Entry
from archlab.search.proposal import Proposal
from archlab.search.selection import ucb_weights, weighted_choice
from archlab.search.space import MoveSpace
from archlab.tools import Arch, Edit


def kind_of_change(edit: Edit) -> str:
    """The kind of change an edit makes, regardless of where: `cell_edge:nor_conv_3x3`, `insert:conv`."""
    return f"{edit.kind}:{edit.fixed.get('op') or edit.fixed.get('template') or edit.fixed.get('param') or ''}"


class MoveChooser:
    """Kind, place and menu of the next edit, learnt from what earlier moves did."""

    offers_after_kick = False  # a kicked cell takes one random fresh edit, as measured

    def __init__(self, space: MoveSpace, dedup_tries: int, focus: bool) -> None:
        self.space = space
        self.dedup_tries = dedup_tries
        self.focus = focus
        self.kind_uses: Counter[str] = Counter()
        self.kind_wins: Counter[str] = Counter()
        self.place_uses: Counter[str] = Counter()
        self.what_uses: Counter[str] = Counter()  # per kind of change ("cell_edge:nor_conv_3x3")
        self.what_wins: Counter[str] = Counter()

    # ---- choosing ---------------------------------------------------------------------------

    def offer(self, arch: Arch, donor: Entry | None, rng: random.Random) -> tuple[list[Edit], Edit, str] | None:
        """One kind at one place: its menu for the coder, the strategy's own pick and a note;
        None when nothing is fresh."""
        move = self.move(arch, donor, rng)
        if move is None:
            return None
        kind, path, menu = move
        default = self.diverse_default(arch, kind, menu, rng)
        self.used_place(kind, path)
        return menu, default, f"{kind} at {path} ({self.record(kind)})"

    def move(self, arch: Arch, donor: Entry | None, rng: random.Random) -> tuple[str, str, list[Edit]] | None:
        """Kind and place of the next edit (under-explored and rewarding ones favoured) and its menu,
        without decided entries that give a structure already seen; None when nothing fresh is left."""
        space = self.space
        crossover = donor is not None and (space.kinds is None or "crossover" in space.kinds)
        menu_all = space.legal(arch) + (space.legal(arch, donor=donor.arch, kinds=["crossover"])
                                        if crossover and donor is not None else [])
        spots = sorted({(m.kind, m.path) for m in menu_all})
        while spots:
            kinds = sorted({k for k, _ in spots})
            kind = weighted_choice(kinds, ucb_weights(kinds, self.kind_uses, self.kind_wins), rng)
            paths = [p for k, p in spots if k == kind]
            path = weighted_choice(paths, [1.0 / (1 + self.place_uses[f"{kind}@{p}"]) for p in paths], rng)
            menu = [m for m in menu_all if m.kind == kind and m.path == path
                    and (not m.is_filled or space.fresh(arch, m))]
            if menu:
                return kind, path, self._focus(menu)
            spots.remove((kind, path))
        return None

    def _focus(self, menu: list[Edit]) -> list[Edit]:
        """Keep the entries whose kind of change ranks in the best third (UCB on how often it
        improved its parent; untried changes rank high), so the coder chooses among promising moves."""
        if not self.focus:
            return menu
        whats = sorted({kind_of_change(m) for m in menu})
        if len(whats) < 3:
            return menu
        weights = dict(zip(whats, ucb_weights(whats, self.what_uses, self.what_wins)))
        keep = set(sorted(whats, key=lambda w: (-weights[w], w))[: (len(whats) + 2) // 3])
        return [m for m in menu if kind_of_change(m) in keep]

    def diverse_default(self, arch: Arch, kind: str, menu: list[Edit], rng: random.Random) -> Edit:
        """The strategy's own pick: the least-used spot of the menu, a fresh structure if possible."""
        keys = [f"{kind}:{json.dumps(m.fixed, sort_keys=True, default=str)}" for m in menu]
        return least_used_fresh(self.space, arch, menu, keys, self.place_uses, self.dedup_tries, rng)

    def used_place(self, kind: str, path: str) -> None:
        self.place_uses[f"{kind}@{path}"] += 1

    def record(self, kind: str) -> str:
        """How often a kind of edit was tried and improved, for a proposal's note."""
        return f"tried {self.kind_uses[kind]}x, improved {self.kind_wins[kind]}x"

    # ---- learning -----------------------------------------------------------------------------

    def learn(self, proposal: Proposal | None, entry: Entry, archive: Archive) -> None:
        """Count the move that made `entry`, and whether it improved its parent."""
        if proposal is None or proposal.edit_kind is None or proposal.walk:
            return
        parent = archive.get(proposal.parent_ids[0]) if proposal.parent_ids else None
        improved = entry.score is not None and parent is not None and entry.score > (parent.score or 0.0)
        self.kind_uses[proposal.edit_kind] += 1
        self.kind_wins[proposal.edit_kind] += improved
        what = self._what_was_done(proposal, entry.arch_hash)
        if what is not None:
            self.what_uses[what] += 1
            self.what_wins[what] += improved

    def learn_rejected(self, proposal: Proposal | None, child_hash: str) -> None:
        """A move whose child broke a cap counts as tried and not improved, so the kinds, places and
        changes that keep breaking a cap lose weight instead of being offered again and again."""
        if proposal is None or proposal.edit_kind is None:
            return
        self.kind_uses[proposal.edit_kind] += 1
        what = self._what_was_done(proposal, child_hash)
        if what is not None:
            self.what_uses[what] += 1

    def _what_was_done(self, proposal: Proposal, child_hash: str) -> str | None:
        """Which menu entry produced the observed child (the coder may have chosen any).

        Only the menu focus reads these counts, and finding the entry means building every
        child of the menu, so without focus it is skipped."""
        if not self.focus:
            return None
        for m in proposal.menu:
            if m.is_filled and self.space.child_hash(proposal.parent_arch, m) == child_hash:
                return kind_of_change(m)
        return kind_of_change(proposal.default) if proposal.default is not None else None


def least_used_fresh(space: MoveSpace, arch: Arch, menu: list[Edit], keys: list[str], uses: Counter[str],
                     tries: int, rng: random.Random) -> Edit:
    """The entry of `menu` whose key was used least (ties at random), sampled; the next least-used
    while the child is a structure already seen (up to `tries`). Counts the use and claims it."""
    order = sorted(range(len(menu)), key=lambda i: (uses[keys[i]], rng.random()))
    spot, edit = order[0], menu[order[0]].sample(rng)
    for attempt in range(tries):
        i = order[attempt % len(order)]
        candidate = menu[i].sample(rng)
        if space.fresh(arch, candidate):
            spot, edit = i, candidate
            break
        space.duplicates_avoided += 1
    uses[keys[spot]] += 1
    space.claim_edit(arch, edit)
    return edit
