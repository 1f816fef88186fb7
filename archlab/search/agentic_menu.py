"""The agentic strategy's menu on trees: every kind of move at the parent, for the coder to choose.

As in LLMatic and EvoPrompting, where the language model proposes the mutation, the coder
chooses the move here: which kind, where, and its values. The strategy offers the parent's
legal menu (the very move set random search and evolution draw from), less the decided
entries that give a structure already seen, cut to `limit` entries so the prompt stays
short. Each kind keeps its share of the cut (round-robin over kinds, and within a kind over
places), so a kind with two entries is not crowded out by forty insertions.

The strategy's own pick (the coder's fallback) is a kind drawn by a UCB weight on what each
kind achieved (kinds that improved their parent more often, or were tried less, favoured;
LLMasTool's diversity-guided planning), then the least-used entry of that kind. Which kind
the coder actually took is read back from the child's structure where that can be known
(the default, or a decided entry); an undecided entry the coder filled teaches nothing.
"""

from __future__ import annotations

import json
import random
from collections import Counter

from archlab.search.archive import Archive, Entry
from archlab.search.guided_moves import least_used_fresh
from archlab.search.proposal import Proposal
from archlab.search.selection import ucb_weights, weighted_choice
from archlab.search.space import MoveSpace
from archlab.tools import Arch, Edit


def round_robin(groups: list[list[Edit]]) -> list[Edit]:
    """The first entry of every group, then the second of every group, and so on."""
    out: list[Edit] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def _grouped(menu: list[Edit], key: str) -> list[list[Edit]]:
    groups: dict[str, list[Edit]] = {}
    for entry in menu:
        groups.setdefault(getattr(entry, key), []).append(entry)
    return list(groups.values())


def balanced(menu: list[Edit], limit: int) -> list[Edit]:
    """At most `limit` entries of `menu`, every kind keeping a share and, within a kind, every
    place; in the menu's own order (kind, then tree order)."""
    if len(menu) <= limit:
        return list(menu)
    per_kind = [round_robin(_grouped(entries, "path")) for entries in _grouped(menu, "kind")]
    kept = {id(entry) for entry in round_robin(per_kind)[:limit]}
    return [entry for entry in menu if id(entry) in kept]


class KindMenus:
    """The coder's menu at a parent, the strategy's own pick from it, and what kinds achieved."""

    offers_after_kick = True  # a kicked parent gets a menu of every kind too

    def __init__(self, space: MoveSpace, dedup_tries: int, limit: int) -> None:
        self.space, self.dedup_tries, self.limit = space, dedup_tries, limit
        self.uses: Counter[str] = Counter()  # per kind of move, proposals whose child was observed
        self.wins: Counter[str] = Counter()  # ... and improved on its parent
        self.spot_uses: Counter[str] = Counter()  # per menu entry (kind, place, decided values)

    def offer(self, arch: Arch, donor: Entry | None, rng: random.Random) -> tuple[list[Edit], Edit, str] | None:
        """The coder's menu at `arch`, the strategy's own pick from it and a note; None when
        nothing is fresh."""
        menu = self.fresh_menu(arch, donor.arch if donor else None)
        if not menu:
            return None
        default = self.default(arch, menu, rng)
        kinds = sorted({m.kind for m in menu})
        note = (f"{len(menu)} fresh entries of {len(kinds)} kinds for the coder; own pick "
                f"{default.kind} at {default.path} ({self.record(default.kind)})")
        return menu, default, note

    def fresh_menu(self, arch: Arch, donor: Arch | None) -> list[Edit]:
        """The fresh legal entries of `arch` (crossovers with `donor` included), balanced to the limit."""
        space = self.space
        menu = space.legal(arch)
        if donor is not None and (space.kinds is None or "crossover" in space.kinds):
            menu = menu + space.legal(arch, donor=donor, kinds=["crossover"])
        return balanced([m for m in menu if not m.is_filled or space.fresh(arch, m)], self.limit)

    def default(self, arch: Arch, menu: list[Edit], rng: random.Random) -> Edit:
        """A kind by UCB, then its least-used entry, sampled; a fresh structure if one turns up."""
        kinds = sorted({m.kind for m in menu})
        kind = weighted_choice(kinds, ucb_weights(kinds, self.uses, self.wins), rng)
        entries = [m for m in menu if m.kind == kind]
        return least_used_fresh(self.space, arch, entries, [_spot(m) for m in entries], self.spot_uses,
                                self.dedup_tries, rng)

    def record(self, kind: str) -> str:
        """How often a kind was taken and improved, for a proposal's note."""
        return f"{kind} taken {self.uses[kind]}x, improved {self.wins[kind]}x"

    # ---- learning -----------------------------------------------------------------------------

    def learn(self, proposal: Proposal | None, entry: Entry, archive: Archive) -> None:
        """Count the kind that made `entry` (when it can be known) and whether it beat its parent.
        The last edit of a random walk (a kick) teaches nothing: its parent was never scored."""
        kind = self.kind_taken(proposal, entry.arch_hash)
        if kind is None or proposal is None or proposal.walk:
            return
        parent = archive.get(proposal.parent_ids[0]) if proposal.parent_ids else None
        self.uses[kind] += 1
        self.wins[kind] += bool(entry.score is not None and parent is not None and parent.score is not None
                                and entry.score > parent.score)

    def learn_rejected(self, proposal: Proposal | None, child_hash: str) -> None:
        """A child that broke a cap counts as taken and not improved."""
        kind = self.kind_taken(proposal, child_hash)
        if kind is not None:
            self.uses[kind] += 1

    def kind_taken(self, proposal: Proposal | None, child_hash: str) -> str | None:
        """The kind of the menu entry that made `child_hash`: the default's, or a decided entry's."""
        if proposal is None or proposal.default is None:
            return None
        parent = proposal.parent_arch
        if self.space.child_hash(parent, proposal.default) == child_hash:
            return proposal.default.kind
        return next((m.kind for m in proposal.menu if m.is_filled and self.space.child_hash(parent, m) == child_hash),
                    None)


def _spot(edit: Edit) -> str:
    return f"{edit.kind}@{edit.path}:{json.dumps(edit.fixed, sort_keys=True, default=str)}"
