"""Turning step `i` into a concrete, validated candidate: the proposing half of one experiment.

search proposes (parent, move, menu) -> the library adds the coder's mined ops -> the coder
chooses from the menu (agentic; with `coder: random` a seeded uniform draw instead) -> tools
apply and validate -> the caps are checked -> the evaluator picks a fidelity. Or, when a
visible low-fidelity result earned it, a promotion of that tree to full fidelity
(promotion.py). Every decision reads only what `History` lets a proposal at `visible` see,
so it is as deterministic as the search. Each candidate carries its `Decision` (why this
parent and move, who chose the edit and why) into its record.

The planner's direction and the coder's prompt carry the design principles the knowledge
room retrieves for the goal (and the direction), filtered to the task's input kind.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any

from archlab import tools
from archlab.campaign.candidate import PreparedCandidate
from archlab.campaign.collaborators import Collaborators
from archlab.campaign.errors import guarded
from archlab.campaign.history import History
from archlab.campaign.library import ModuleLibrary
from archlab.campaign.modules import uses_mined, without_unused_mined
from archlab.campaign.promotion import Promotion, is_promotion, pick_promotion
from archlab.campaign.workspace import exp_id
from archlab.records import FailureKind, Result
from archlab.search import Proposal, check_constraints
from archlab.tools import Arch, Edit

if TYPE_CHECKING:
    from archlab.agents import Direction
    from archlab.knowledge import Decision

# Design principles shown to the planner and the coder (the nearest to the goal and direction).
PRINCIPLES_SHOWN = 3
# The input's tensor kind, by the rank of its shape (tools: vector (F,), seq (C, L), image (C, H, W)).
TENSOR_KINDS = {1: "vector", 2: "seq", 3: "image"}


class Proposer:
    """Proposes candidate after candidate for one campaign (see the module docstring)."""

    def __init__(self, c: Collaborators, history: History, library: ModuleLibrary | None) -> None:
        self.c, self.history, self.library = c, history, library
        self.spec, settings = c.spec, c.settings
        self.fidelities = sorted(set(settings.fidelities)) or [1.0]
        self.direction_every = max(1, settings.direction_every)
        self.agentic = self.spec.strategy == "agentic"
        promoting = self.agentic and c.task.kind == "train" and len(self.fidelities) > 1
        self.promote_top_k = settings.promote_top_k if promoting else 0
        self.promote_eta = max(1, settings.promote_eta)
        self.promoted: set[str] = set()  # low-fidelity ids already given a promotion, in or out of flight
        self.promotions = 0  # promotion proposals so far: the search's step skips them
        self.random_coder = settings.coder == "random"
        self.tensor_kind = TENSOR_KINDS.get(len(c.task.input_shape))
        # Trees offer the macro moves too; a closed cell space only its own kind.
        self.trees = not all(tools.cell_space(tools.seeds.by_name(name)) for name in self.spec.seed_archs)
        self._directions: dict[int, Direction] = {}
        self._principles: dict[str, list[dict[str, Any]]] = {}

    # ---- one proposal ----------------------------------------------------------------

    def prepare(self, index: int, visible: int) -> PreparedCandidate:
        """Candidate `index` (a promotion if one is due), seeing only experiments numbered <= `visible`."""
        return self._promotion(index, visible) or self._propose(index, visible)

    def _propose(self, index: int, visible: int) -> PreparedCandidate:
        from archlab.knowledge import Decision

        proposal = self.c.search.propose(index - self.promotions)
        parent, default, menu = proposal.parent_arch, proposal.default, list(proposal.menu)
        edit = default
        decision = Decision(search=proposal.note, own_pick=default.describe() if default is not None else "",
                            walk=len(proposal.walk), chooser="search" if default is not None else "seed")
        if self.agentic and default is not None and self.library is not None:
            menu, default = self._with_library(index, visible, proposal, menu, default)
            edit = default
            if default is not proposal.default:
                decision.search += "; a trial of the module the coder just wrote"
                decision.own_pick = default.describe()
        if self.agentic and menu and default is not None:
            edit, decision = self._coder_choice(index, visible, menu, default, parent, decision)
        # The parent plus the library's ops it lacks, so an entry that inserts one applies.
        library_ops = [op for op in (self.library.available(index) if self.library is not None else [])
                       if op.name not in parent.mined]
        base = tools.with_mined(parent, *library_ops) if library_ops else parent
        candidate = PreparedCandidate(
            index=index, exp_id=exp_id(index + 1), generation=index // self.direction_every,
            parent_ids=self._lineage_ids(proposal, edit), parent_arch=parent,
            edit=edit, decision=decision, arch=parent, arch_hash="")
        searched = proposal.default if base is parent else None  # drawn from the parent's own legal menu
        try:
            child = _applied(base, edit, trusted=edit is searched) if edit is not None else parent
        except tools.EditError as error:  # the coder said something off the menu: use ours
            if default is None or edit is default:
                return _rejected(candidate, "invalid", f"edit could not be applied: {error}")
            candidate.edit = default
            candidate.parent_ids = self._lineage_ids(proposal, default)
            decision.chooser, decision.rationale = "fallback", f"the chosen edit did not apply: {error}"
            child = _applied(base, default, trusted=default is searched)
        if library_ops and edit is not None:
            child = without_unused_mined(tools, child)
        candidate.arch = child
        candidate.arch_hash = tools.arch_hash(child)
        self.c.search.claim(child)  # the coder may have picked another entry than the default
        task = self.c.task
        problems = tools.validate(child, task.input_shape)
        if problems:
            return _rejected(candidate, "invalid", problems[0])
        candidate.sandbox_constraints = uses_mined(child.model_dump(mode="json"))
        reason = None if candidate.sandbox_constraints else check_constraints(
            child, task.input_shape, task.num_classes, self.spec.constraints)
        if reason:
            return _rejected(candidate, "constraint", reason)
        candidate.fidelity = self._fidelity(candidate, visible)
        return candidate

    def replay(self, index: int, record: dict[str, Any]) -> PreparedCandidate:
        """Advance the search exactly as the original run did (resume); take the rest from disk."""
        arch = Arch.model_validate(record["arch"])
        if is_promotion(record.get("edit")):
            return self._promotion_candidate(index, Promotion.model_validate(record["edit"]), arch,
                                             record["arch_hash"])
        proposal = self.c.search.propose(index - self.promotions)
        self.c.search.claim(arch)
        edit = Edit.model_validate(record["edit"]) if record.get("edit") else None
        return PreparedCandidate(
            index=index, exp_id=record["id"], generation=record.get("generation", 0),
            parent_ids=list(record.get("parent_ids", [])), parent_arch=proposal.parent_arch,
            edit=edit, decision=_recorded_decision(record), arch=arch, arch_hash=record["arch_hash"],
            fidelity=float(Result.model_validate(record["result"]).fidelity))

    # ---- promotions ----------------------------------------------------------------------

    def _promotion(self, index: int, visible: int) -> PreparedCandidate | None:
        """A full-fidelity re-training of a visible low-fidelity result that earned it, if any."""
        if self.promote_top_k <= 0 or index < len(self.spec.seed_archs):  # seed N is always e(N+1)
            return None
        rows = [(c.exp_id, r) for c, r in self.history.visible(visible) if not is_promotion(c.edit)]
        full = max(self.fidelities)
        picked = pick_promotion(rows, self.promoted, self.promote_top_k, self.promote_eta, full)
        if picked is None:
            return None
        low = self.history.by_id[picked[0]][0]
        return self._promotion_candidate(index, Promotion.of(low.exp_id, picked[1].fidelity, full),
                                         low.arch, low.arch_hash)

    def _promotion_candidate(self, index: int, promotion: Promotion, arch: Arch, arch_hash: str) -> PreparedCandidate:
        from archlab.knowledge import Decision

        self.promoted.add(promotion.source_id)
        self.promotions += 1
        why = (f"{promotion.source_id} ranks in the top 1/{self.promote_eta} of its fidelity "
               f"{promotion.from_fidelity:g} rung (at most {self.promote_top_k} promoted): trained again at "
               f"{promotion.fidelity:g}")
        return PreparedCandidate(
            index=index, exp_id=exp_id(index + 1), generation=index // self.direction_every,
            parent_ids=[promotion.source_id], parent_arch=arch, edit=promotion,
            decision=Decision(search=why, chooser="promotion"),
            arch=arch, arch_hash=arch_hash, fidelity=promotion.fidelity)

    # ---- the agents' part ------------------------------------------------------------------

    def _with_library(self, index: int, visible: int, proposal: Proposal, menu: list[Edit],
                      default: Edit) -> tuple[list[Edit], Edit]:
        """A trial of a module mined at this proposal (its menu, a seeded default), else the
        search's menu plus the library's ops at the same spot."""
        assert self.library is not None
        parent = proposal.parent_arch
        trial = self.library.trial_ops(index, parent, self._direction(index, visible))
        if trial:
            trial_menu = self.library.menu(parent, None, None, trial)
            if trial_menu:
                return trial_menu, self.library.trial_default(trial_menu, self.spec.seed, index)
        kind, path = proposal.edit_kind, proposal.path
        fresh = [op for op in self.library.available(index) if op.name not in parent.mined]
        extra = self.library.menu(parent, kind, path, fresh) if kind and path else []
        return menu + extra, default

    def _coder_choice(self, index: int, visible: int, menu: list[Edit], default: Edit, parent: Arch,
                      decision: Decision) -> tuple[Edit, Decision]:
        """The coder's pick from `menu` (or, with `coder: random`, a seeded uniform draw from the
        entries it would be shown), and the decision saying who chose it and why."""
        from archlab.agents.coder import shown_menu

        shown = shown_menu(menu, self.c.coder.max_menu)
        decision.menu_size = len(shown)
        if self.random_coder:
            rng = random.Random(f"archlab-random-coder/{self.spec.seed}/{index}")
            at = rng.randrange(len(shown))
            edit = shown[at].sample(rng)
            decision.chooser, decision.choice = "random", f"E{at}"
            decision.rationale = f"coder: random, a seeded uniform draw among {len(shown)} entries"
            return edit, decision
        direction = self._direction(index, visible)
        memories = self.history.memories(parent, str(direction or ""), visible)
        source = prompt_source(parent, self.c.task.input_shape, self.c.task.num_classes)
        constraints = self.spec.constraints.model_dump()
        principles = _naming(self._principles_for(f"{self.spec.goal} {direction.text}".strip()),
                             {entry.kind for entry in shown})
        choice = guarded(lambda: self.c.coder.choose(source, menu, direction, memories, fallback=default,
                                                    step=exp_id(index + 1), constraints=constraints,
                                                    principles=principles))
        decision.chooser, decision.choice = choice.source, choice.menu_id
        decision.rationale = choice.rationale
        decision.principles = [str(p.get("name")) for p in principles]
        return choice.edit or default, decision

    def _principles_for(self, text: str) -> list[dict[str, Any]]:
        """The design principles nearest to `text` for the task's input kind (asked once per text).
        None on a closed cell space: its decisions (NAS-Bench-201 settings, golden tests) were
        measured without them, and the library is about growing trees."""
        if not self.trees:
            return []
        if text not in self._principles:
            self._principles[text] = list(self.c.memory.principles_for(text, PRINCIPLES_SHOWN,
                                                                       tensor_kind=self.tensor_kind))
        return self._principles[text]

    def _direction(self, index: int, visible: int) -> Direction:
        """The planner's direction for this generation, from what it could see at its start."""
        from archlab.agents import MOVE_KINDS, SearchSummary

        start = (index // self.direction_every) * self.direction_every
        if start not in self._directions:
            seen = start - (index - visible)  # the lag is the same at every proposal
            evidence = self.history.evidence(seen)
            extra = {"kinds_available": list(MOVE_KINDS)} if self.trees else {}
            summary = SearchSummary.from_evidence(evidence, generation=index // self.direction_every, **extra)
            memories = self.history.best_memories(seen)
            principles = self._principles_for(self.spec.goal)
            self._directions[start] = guarded(lambda: self.c.planner.direction(
                summary, memories, step=f"direction-{exp_id(start + 1)}", principles=principles))
        return self._directions[start]

    def _fidelity(self, candidate: PreparedCandidate, visible: int) -> float:
        """The evaluator's pick among the fidelity levels, from validation facts only; a
        screen-out trains at the lowest level."""
        from archlab.agents import FidelityContext

        if not self.agentic or self.c.task.kind != "train":
            return max(self.fidelities)  # a lookup table has one fidelity: a query is a query
        parent = self.history.parent_result(candidate, visible)
        seen = [r for _, r in self.history.visible(visible) if r.ok and r.val_accuracy is not None]
        budget = self.spec.budget
        used = min(1.0, self.history.submitted_before(visible) / budget.max_evals) if budget.max_evals else 0.0
        context = FidelityContext(
            exp_id=candidate.exp_id, params=_params_of(candidate.arch, self.c.task.input_shape,
                                                       self.c.task.num_classes),
            parent_val_accuracy=None if parent is None else parent.val_accuracy,
            best_val_accuracy=max((r.val_accuracy for r in seen if r.val_accuracy is not None), default=None),
            budget_used=round(used, 4), fidelities=list(self.fidelities))
        decision = guarded(lambda: self.c.evaluator.plan_fidelity(context, step=candidate.exp_id))
        wanted = min(self.fidelities) if decision.screen_out else float(decision.fidelity)
        return min(self.fidelities, key=lambda level: abs(level - wanted))

    def _lineage_ids(self, proposal: Proposal, edit: Edit | None) -> list[str]:
        """Parent (and, when the edit taken is a crossover, its donor) as experiment ids: the search
        names a seed that is still in flight `seedN`, and seed N is always evaluated as experiment N + 1."""
        ids = list(proposal.parent_ids)
        donor = proposal.donor_id
        if donor and edit is not None and edit.kind == "crossover" and donor not in ids:
            ids.append(donor)
        out = []
        for pid in ids:
            match = re.fullmatch(r"seed(\d+)", str(pid))
            out.append(exp_id(int(match.group(1)) + 1) if match and int(match.group(1)) < len(self.spec.seed_archs)
                       else str(pid))
        return out


def prompt_source(arch: Arch, input_shape: tuple[int, ...], num_classes: int) -> str:
    """What the coder reads of the parent: a cell space's few choices, else the rendered PyTorch."""
    space = tools.cell_space(arch)
    if space is not None:
        return space.prompt_text(arch.root.params)
    return tools.render(arch, input_shape, num_classes)


def _naming(principles: list[dict[str, Any]], kinds: set[str]) -> list[dict[str, Any]]:
    """The principles with an edit of a kind in `kinds` (a principle the menu cannot act on is
    noise to the coder: on a closed cell space none of the library's principles applies)."""
    return [p for p in principles if any(str(edit).split(" ", 1)[0] in kinds for edit in p.get("edits") or [])]


def _recorded_decision(record: dict[str, Any]) -> Decision | None:
    from archlab.knowledge import Decision

    raw = record.get("decision")
    return Decision.model_validate(raw) if raw else None


def _applied(base: Arch, edit: Edit, trusted: bool) -> Arch:
    """`tools.apply(base, edit)`. A `trusted` edit (the search's own pick, drawn from the legal menu
    of this very tree) skips the menu check that apply makes of an edit from elsewhere (a coder's
    answer): the child is the same tree, and it is validated below like every other. That check
    was a seventh of a lookup campaign's step."""
    if trusted and edit.input_shape is not None:
        edit = edit.model_copy(update={"input_shape": None})
    return tools.apply(base, edit)


def _rejected(candidate: PreparedCandidate, kind: FailureKind, reason: str) -> PreparedCandidate:
    candidate.result = Result(status="failed", failure=kind, error=reason, fidelity=0.0)
    if not candidate.arch_hash:
        candidate.arch_hash = tools.arch_hash(candidate.arch)
    return candidate


def _params_of(arch: Arch, input_shape: tuple[int, ...], num_classes: int) -> int | None:
    try:
        return int(tools.count_params(tools.build(arch, input_shape, num_classes)))
    except Exception:  # a tree that cannot be built has no size; the sandbox will say why
        return None
