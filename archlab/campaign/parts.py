"""The rooms as the loop sees them: one narrow adapter per step of a candidate.

The loop (loop.py) only decides *when*; this module says *what* each step is:
propose -> coder choice -> apply + validate -> constraints -> fidelity ->
evaluate -> analyse -> write + commit -> memory -> observe. Every call into
another room goes through here, so an interface change there is one edit here.
"""

from __future__ import annotations

import re
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from archlab.campaign.library import ModuleLibrary
from archlab.campaign.modules import uses_mined, without_unused_mined
from archlab.campaign.promotion import Promotion, is_promotion, pick_promotion
from archlab.campaign.rooms import Rooms
from archlab.campaign.workspace import Workspace, exp_id, exp_number
from archlab.records import CampaignSpec, Result

MEMORY_KEYS = ("id", "campaign", "edit", "arch", "val_accuracy", "parent_val_accuracy",
               "params", "status", "failure")  # what the coder may see of a memory


class SpendStop(Exception):
    """The model spend budget ran out while preparing a proposal."""


@dataclass
class PreparedCandidate:
    """A proposal turned into a concrete, validated tree (or a reason it is not one)."""

    index: int
    exp_id: str
    generation: int
    parent_ids: list[str]
    parent_arch: Any
    edit: Any  # archlab.tools.Edit (filled) or None for an unchanged seed
    edit_source: str  # "model", "fallback" or "backbone"
    arch: Any  # archlab.tools.Arch
    arch_hash: str
    fidelity: float = 1.0
    sandbox_constraints: bool = False  # uses mined ops: only the worker may build it to size it
    result: Result | None = None  # set when it must not be trained (constraint, invalid)
    cached_from: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


class Parts:
    """Binds one campaign's rooms (see rooms.py) to the steps of the loop."""

    def __init__(self, ws: Workspace, spec: CampaignSpec, campaign: str, rooms: Rooms,
                 settings_recipe: dict[str, Any], lightweight: bool, direction_every: int,
                 fidelities: list[float], promote_top_k: int = 0, promote_eta: int = 2,
                 library: ModuleLibrary | None = None) -> None:
        self.ws, self.spec, self.campaign, self.rooms = ws, spec, campaign, rooms
        self.recipe_overrides = dict(settings_recipe)
        self.lightweight = lightweight
        self.fidelities = sorted(set(fidelities)) or [1.0]
        self.direction_every = max(1, direction_every)
        self.history: list[tuple[PreparedCandidate, Result]] = []  # folded in, in order
        self.by_id: dict[str, tuple[PreparedCandidate, Result]] = {}
        self._directions: dict[int, Any] = {}
        promoting = spec.strategy == "agentic" and rooms.task.kind == "train" and len(self.fidelities) > 1
        self.promote_top_k, self.promote_eta = (promote_top_k if promoting else 0), max(1, promote_eta)
        self.promoted: set[str] = set()  # low-fidelity ids already given a promotion, in or out of flight
        self.promotions = 0  # promotion proposals so far: the backbone's step skips them
        self.library = library  # mined ops the coder wrote (None: no module writing)

    # ---- proposing -----------------------------------------------------------------

    def replay_candidate(self, index: int, record: dict[str, Any]) -> PreparedCandidate:
        """Advance the backbone exactly as the original run did, take the rest from disk."""
        tools = self.rooms.tools
        arch = tools.Arch.model_validate(record["arch"])
        if is_promotion(record.get("edit")):
            return self._promotion_candidate(index, Promotion.model_validate(record["edit"]), arch,
                                             record["arch_hash"])
        proposal = self.rooms.backbone.propose(index - self.promotions)
        self.rooms.backbone.claim(arch)
        edit = tools.Edit.model_validate(record["edit"]) if record.get("edit") else None
        return PreparedCandidate(
            index=index, exp_id=record["id"], generation=record.get("generation", 0),
            parent_ids=list(record.get("parent_ids", [])), parent_arch=proposal_parent(proposal),
            edit=edit, edit_source="recorded", arch=arch, arch_hash=record["arch_hash"],
            fidelity=float(Result.model_validate(record["result"]).fidelity))

    def prepare(self, index: int, visible: int) -> PreparedCandidate:
        """Propose candidate `index` seeing only experiments numbered <= `visible`."""
        tools, rooms = self.rooms.tools, self.rooms
        proposal = rooms.backbone.propose(index - self.promotions)
        parent = proposal_parent(proposal)
        default = getattr(proposal, "default", None)
        menu = list(getattr(proposal, "menu", None) or [])
        edit, source = default, "backbone"
        if self.spec.strategy == "agentic" and default is not None and self.library is not None:
            menu, default = self._with_library(index, visible, proposal, parent, menu, default)
            edit = default
        if self.spec.strategy == "agentic" and menu and default is not None:
            edit, source = self._coder_choice(index, visible, menu, default, parent)
        # The parent plus the library's ops it lacks, so an entry that inserts one applies.
        library_ops = [op for op in (self.library.available(index) if self.library is not None else [])
                       if op.name not in parent.mined]
        base = tools.with_mined(parent, *library_ops) if library_ops else parent
        candidate = PreparedCandidate(
            index=index, exp_id=exp_id(index + 1), generation=index // self.direction_every,
            parent_ids=self.lineage_ids(proposal), parent_arch=parent,
            edit=edit, edit_source=source, arch=parent, arch_hash="")
        try:
            child = tools.apply(base, edit) if edit is not None else parent
        except tools.EditError as error:  # the coder said something off the menu: use ours
            if default is None or edit is default:
                return self._rejected(candidate, "invalid", f"edit could not be applied: {error}")
            candidate.edit, candidate.edit_source = default, "fallback"
            child = tools.apply(base, default)
        if library_ops and edit is not None:
            child = without_unused_mined(tools, child)
        candidate.arch = child
        candidate.arch_hash = tools.arch_hash(child)
        rooms.backbone.claim(child)  # the coder may have picked another entry than the default
        problems = tools.validate(child, rooms.task.input_shape)
        if problems:
            return self._rejected(candidate, "invalid", problems[0])
        candidate.sandbox_constraints = uses_mined(child.model_dump(mode="json"))
        reason = None if candidate.sandbox_constraints else rooms.check_constraints(child)
        if reason:
            return self._rejected(candidate, "constraint", reason)
        candidate.fidelity = self._fidelity(candidate, visible)
        return candidate

    def promotion(self, index: int, visible: int) -> PreparedCandidate | None:
        """A full-fidelity re-training of a visible low-fidelity result that earned it, if any."""
        if self.promote_top_k <= 0 or index < len(self.spec.seed_archs):  # seed N is always e(N+1)
            return None
        rows = [(c.exp_id, r) for c, r in self.visible_history(visible) if not is_promotion(c.edit)]
        full = max(self.fidelities)
        picked = pick_promotion(rows, self.promoted, self.promote_top_k, self.promote_eta, full)
        if picked is None:
            return None
        low = self.by_id[picked[0]][0]
        return self._promotion_candidate(index, Promotion.of(low.exp_id, picked[1].fidelity, full),
                                         low.arch, low.arch_hash)

    def _promotion_candidate(self, index: int, promotion: Promotion, arch: Any, arch_hash: str) -> PreparedCandidate:
        self.promoted.add(promotion.source_id)
        self.promotions += 1
        return PreparedCandidate(
            index=index, exp_id=exp_id(index + 1), generation=index // self.direction_every,
            parent_ids=[promotion.source_id], parent_arch=arch, edit=promotion, edit_source="promotion",
            arch=arch, arch_hash=arch_hash, fidelity=promotion.fidelity)

    def lineage_ids(self, proposal: Any) -> list[str]:
        """Parent (and crossover donor) as experiment ids: the backbone names a seed that is
        still in flight `seedN`, and seed N is always evaluated as experiment N + 1."""
        ids = list(getattr(proposal, "parent_ids", []) or [])
        donor = getattr(proposal, "donor_id", None)
        if donor and getattr(proposal, "edit_kind", None) == "crossover" and donor not in ids:
            ids.append(donor)
        out = []
        for pid in ids:
            match = re.fullmatch(r"seed(\d+)", str(pid))
            out.append(exp_id(int(match.group(1)) + 1) if match and int(match.group(1)) < len(self.spec.seed_archs)
                       else str(pid))
        return out

    def _rejected(self, candidate: PreparedCandidate, kind: str, reason: str) -> PreparedCandidate:
        candidate.result = Result(status="failed", failure=kind, error=reason, fidelity=0.0)
        if not candidate.arch_hash:
            candidate.arch_hash = self.rooms.tools.arch_hash(candidate.arch)
        return candidate

    def _with_library(self, index: int, visible: int, proposal: Any, parent: Any, menu: list[Any],
                      default: Any) -> tuple[list[Any], Any]:
        """A trial of a module mined at this proposal (its menu, a seeded default), else the
        backbone's menu plus the library's ops at the same spot."""
        assert self.library is not None
        trial = self.library.trial_ops(index, parent, self._direction(index, visible))
        if trial:
            trial_menu = self.library.menu(parent, None, None, trial)
            if trial_menu:
                return trial_menu, self.library.trial_default(trial_menu, self.spec.seed, index)
        kind, path = getattr(proposal, "edit_kind", None), getattr(proposal, "path", None)
        fresh = [op for op in self.library.available(index) if op.name not in parent.mined]
        extra = self.library.menu(parent, kind, path, fresh) if kind and path else []
        return menu + extra, default

    def _coder_choice(self, index: int, visible: int, menu: list[Any], default: Any,
                      parent: Any) -> tuple[Any, str]:
        rooms = self.rooms
        direction = self._direction(index, visible)
        memories = self.memories(parent, str(direction or ""), visible)
        source = prompt_source(rooms.tools, parent, rooms.task)
        constraints = self.spec.constraints.model_dump()
        choice = rooms.guard(lambda: rooms.coder.choose(
            source, menu, direction, memories, fallback=default,
            step=exp_id(index + 1), constraints=constraints))
        edit = getattr(choice, "edit", None) or default
        return edit, str(getattr(choice, "source", "model"))

    def _direction(self, index: int, visible: int) -> Any:
        """The planner's direction for this generation, from what it could see at its start."""
        start = (index // self.direction_every) * self.direction_every
        if start not in self._directions:
            seen = start - (index - visible)  # the lag is the same at every proposal
            summary = self.rooms.search_summary(self.evidence(seen), generation=index // self.direction_every)
            memories = self.rooms.memory_best(self.campaign, seen)
            self._directions[start] = self.rooms.guard(
                lambda: self.rooms.planner.direction(summary, memories, step=f"direction-{exp_id(start + 1)}"))
        return self._directions[start]

    def _fidelity(self, candidate: PreparedCandidate, visible: int) -> float:
        """The evaluator's pick among the fidelity levels, from validation facts only."""
        if self.spec.strategy != "agentic" or self.rooms.task.kind != "train":
            return max(self.fidelities)  # a lookup table has one fidelity: a query is a query
        parent = self._parent_result(candidate, visible)
        seen = [r for _, r in self.visible_history(visible) if r.ok and r.val_accuracy is not None]
        budget = self.spec.budget
        used = min(1.0, self.submitted_before(visible) / budget.max_evals) if budget.max_evals else 0.0
        context = {
            "exp_id": candidate.exp_id, "params": self.rooms.params_of(candidate.arch),
            "parent_val_accuracy": None if parent is None else parent.val_accuracy,
            "best_val_accuracy": max((r.val_accuracy for r in seen), default=None),
            "budget_used": round(used, 4), "fidelities": list(self.fidelities),
        }
        return self.rooms.fidelity(context, candidate.exp_id, self.fidelities)

    def submitted_before(self, visible: int) -> int:
        return sum(1 for c, r in self.visible_history(visible) if not r.cached and c.result is None)

    # ---- what the agents may see ----------------------------------------------------

    def visible_history(self, visible: int) -> list[tuple[PreparedCandidate, Result]]:
        return [item for item in self.history if exp_number(item[0].exp_id) <= visible]

    def evidence(self, visible: int) -> list[dict[str, Any]]:
        """Visible experiments as (edit kind, parent val, child val) rows, oldest first."""
        rows = []
        for candidate, result in self.visible_history(visible):
            if is_promotion(candidate.edit):  # a re-training, not an edit: no evidence about edits
                continue
            parent = self._parent_result(candidate)
            rows.append({
                "id": candidate.exp_id, "kind": getattr(candidate.edit, "kind", None),
                "edit": self.describe_edit(candidate.edit),
                "parent_val_accuracy": None if parent is None else parent.val_accuracy,
                "child_val_accuracy": result.val_accuracy, "params": result.params,
                "status": result.status,
            })
        return rows

    def memories(self, parent: Any, text: str, visible: int) -> list[dict[str, Any]]:
        """Similar past experiments, minus any this proposal may not see yet."""
        found = self.rooms.memory_similar(parent, text, k=8 + self.rooms.lag)
        keep = []
        for item in found:
            same = item.get("campaign") in (None, self.campaign)
            if same and _number(item.get("id")) > visible:
                continue
            row = {k: item[k] for k in MEMORY_KEYS if k in item and not (k == "campaign" and same)}
            if same and item.get("id") in self.by_id:  # add what the memory row lacks
                candidate, _ = self.by_id[item["id"]]
                parent = self._parent_result(candidate)
                row["kind"] = None if is_promotion(candidate.edit) else getattr(candidate.edit, "kind", None)
                row["parent_val_accuracy"] = None if parent is None else parent.val_accuracy
            keep.append(row)
        return keep[:8]

    def _parent_result(self, candidate: PreparedCandidate, visible: int | None = None) -> Result | None:
        """The first parent's result, if folded in (and visible to a decision at `visible`)."""
        for pid in candidate.parent_ids:
            if pid in self.by_id and (visible is None or _number(pid) <= visible):
                return self.by_id[pid][1]
        return None

    # ---- evaluation -----------------------------------------------------------------

    def lookup(self, candidate: PreparedCandidate) -> Result | None:
        return self.rooms.memory_lookup(candidate.arch_hash, candidate.fidelity)

    def submit(self, candidate: PreparedCandidate) -> Future[Result]:
        return self.rooms.submit(candidate.exp_id, candidate.arch, candidate.fidelity,
                                 self.spec.seed, self.recipe_overrides,
                                 check_constraints=candidate.sandbox_constraints)

    # ---- folding in -------------------------------------------------------------------

    def finish(self, candidate: PreparedCandidate, result: Result) -> dict[str, Any]:
        """Analyse, write atomically, commit, and add to memory; returns the record."""
        rooms, tools = self.rooms, self.rooms.tools
        record = rooms.new_record(
            id=candidate.exp_id, campaign=self.campaign, generation=candidate.generation,
            parent_ids=candidate.parent_ids, edit=_dump(candidate.edit),
            arch=_dump(candidate.arch), arch_hash=candidate.arch_hash,
            code_path=f"experiments/{candidate.exp_id}/model.py", result=result,
            strategy=self.spec.strategy, task=self.spec.task,
            created_at=candidate.created_at, finished_at=datetime.now(timezone.utc))
        plain = record.model_copy()  # memory gets no analysis: decisions must not depend on it
        if not self.lightweight and self.spec.strategy == "agentic":  # baselines use no model at all
            parent = self._parent_record(candidate)
            memories = self.memories(candidate.arch, self.describe_edit(candidate.edit),
                                     exp_number(candidate.exp_id))
            try:
                text, insights = rooms.analyze(record, parent, memories, step=candidate.exp_id)
            except SpendStop as stop:  # the result stays; the loop stops at its next budget check
                text, insights = f"(no analysis: {stop})", []
            record = record.model_copy(update={"analysis": text, "insights": insights})
        try:
            source = tools.render(candidate.arch, rooms.task.input_shape, rooms.task.num_classes)
        except Exception as error:  # a tree that cannot render is still a finished experiment
            source = f"# could not render this tree: {' '.join(str(error).split())}\n"
        self.ws.write_experiment(candidate.exp_id, {
            "record.json": record.model_dump_json(indent=2) + "\n",
            "arch.json": candidate.arch.model_dump_json(indent=2) + "\n",
            "model.py": source,
        })
        rooms.memory_add(plain, record.insights)
        return record.model_dump(mode="json")

    def commit(self, candidate: PreparedCandidate, result: Result) -> None:
        """One git commit per finished experiment (after state.json is saved)."""
        if not self.lightweight:
            self.ws.commit([f"experiments/{candidate.exp_id}", "state.json", "llm/usage.json"],
                           commit_message(candidate, result, self._edit_label(candidate)))

    def _edit_label(self, candidate: PreparedCandidate) -> str:
        if candidate.edit is None and not candidate.parent_ids and candidate.index < len(self.spec.seed_archs):
            return f"seed {self.spec.seed_archs[candidate.index]} as given"
        return self.describe_edit(candidate.edit)

    def observe(self, candidate: PreparedCandidate, result: Result) -> None:
        if is_promotion(candidate.edit):  # not a backbone step: a better estimate of a tree it holds
            self.rooms.backbone.supersede(candidate.edit.source_id, result)
        else:
            self.rooms.backbone.observe(candidate.exp_id, candidate.arch, result)
        self.history.append((candidate, result))
        self.by_id[candidate.exp_id] = (candidate, result)

    def _parent_record(self, candidate: PreparedCandidate) -> dict[str, Any] | None:
        for pid in candidate.parent_ids:
            if pid in self.by_id:
                c, r = self.by_id[pid]
                return {"id": pid, "edit": self.describe_edit(c.edit), "result": r.model_dump(mode="json")}
        return None

    def tag_best(self, exp: str, result: Result) -> None:
        if not self.lightweight:
            self.ws.tag_best(exp, f"best so far: {exp} val {100 * (result.val_accuracy or 0):.2f}%")

    # ---- accounting and reports ---------------------------------------------------------

    def describe_edit(self, edit: Any) -> str:
        return self.rooms.describe_edit(edit)

    def usage_totals(self) -> dict[str, Any]:
        return self.rooms.usage_totals()

    def save_usage(self) -> None:
        self.rooms.save_usage(self.ws.usage_path)

    def refresh_report(self) -> None:
        self.rooms.refresh_report(self.ws.root)


def prompt_source(tools: Any, arch: Any, task: Any) -> str:
    """What the coder reads of the parent: a cell's six choices, else the rendered PyTorch."""
    if arch.root.op == "nb201_cell":
        from archlab.tools.ops.nb201 import cell_source

        return cell_source(arch.root.params["cell"])
    return tools.render(arch, task.input_shape, task.num_classes)


def proposal_parent(proposal: Any) -> Any:
    """The parent tree of a proposal, whatever the backbone calls the field."""
    for name in ("parent_arch", "parent", "arch"):
        value = getattr(proposal, name, None)
        if value is not None:
            return value
    raise AttributeError("the backbone's proposal carries no parent tree")


def commit_message(candidate: PreparedCandidate, result: Result, edit: str) -> str:
    parents = ", ".join(candidate.parent_ids) or "seed"
    if result.cached:
        outcome = f"cached from {candidate.cached_from or 'memory'}"
    elif result.ok:
        outcome = f"val {100 * (result.val_accuracy or 0):.2f}%, {result.params or 0:,} params"
    else:
        outcome = f"failed ({result.failure})"
    where = "" if edit.startswith("seed ") else f" on {parents}"
    return f"{candidate.exp_id}: {edit or 'unchanged'}{where} -> {outcome}"


def _dump(model: Any) -> Any:
    if model is None:
        return None
    return model.model_dump(mode="json") if hasattr(model, "model_dump") else model


def _number(exp: Any) -> int:
    try:
        return exp_number(str(exp))
    except ValueError:
        return 0
