"""The campaign's op library: ask the coder for a module, mine it in the sandbox, offer it.

See modules.py for the records and the policy. This module holds the steps
that call other rooms (coder, executor, tools); candidate code is only ever
executed by the sandbox worker that answers the `mine` request.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from archlab import tools
from archlab.campaign.collaborators import Collaborators
from archlab.campaign.errors import guarded
from archlab.campaign.evaluation import mine_request
from archlab.campaign.modules import ModuleOutcome, is_due, load_log, log_path, source_name
from archlab.campaign.workspace import exp_id, write_json_atomic, write_text_atomic
from archlab.errors import one_line
from archlab.tools import Arch, Edit, MinedOp

if TYPE_CHECKING:
    from archlab.agents import Direction

MINED_KINDS = ("insert", "replace")  # the edit kinds whose menus can offer a mined op
INPUT_KINDS = {1: "vector B,F", 2: "seq B,C,L", 3: "image B,C,H,W"}


class ModuleLibrary:
    """Mined ops available to each proposal, and the requests that grow them."""

    def __init__(self, c: Collaborators) -> None:
        settings = c.settings
        self.c, self.ws, self.seeds = c, c.workspace, len(c.spec.seed_archs)
        self.every = settings.module_every if settings.write_modules else 0
        self.lightweight = settings.lightweight
        self.outcomes: dict[int, ModuleOutcome] = {o.index: o for o in load_log(self.ws.root)}

    def available(self, index: int) -> list[MinedOp]:
        """Mined ops proposal `index` may use: those asked for at or before it."""
        ops: dict[str, MinedOp] = {}
        for i in sorted(self.outcomes):
            if i <= index and self.outcomes[i].status == "mined":
                for raw in self.outcomes[i].ops:
                    op = MinedOp.model_validate(raw)
                    ops.setdefault(op.name, op)
        return list(ops.values())

    def trial_ops(self, index: int, parent: Arch, direction: Direction) -> list[MinedOp]:
        """The ops newly mined at proposal `index` (asking the coder when due), else []."""
        if not is_due(index, self.seeds, self.every):
            return []
        outcome = self.outcomes.get(index) or self._ask(index, parent, direction)
        if outcome.status != "mined":
            return []
        return [MinedOp.model_validate(raw) for raw in outcome.ops]

    def menu(self, parent: Arch, kind: str | None, path: str | None, ops: list[MinedOp]) -> list[Edit]:
        """Legal entries at (`kind`, `path`), or anywhere when both are None, that use one of `ops`."""
        if not ops or (kind is not None and kind not in MINED_KINDS):
            return []
        ops = [op for op in ops if op.name not in parent.mined or parent.mined[op.name].source == op.source]
        names = {op.name for op in ops}
        base = tools.with_mined(parent, *ops)
        kinds = [kind] if kind is not None else list(MINED_KINDS)
        try:
            entries = tools.legal_edits(base, self.c.task.input_shape, kinds=kinds, path=path)
        except tools.EditError:
            return []
        return [e for e in entries if e.fixed.get("op") in names]

    @staticmethod
    def trial_default(menu: list[Edit], seed: int, index: int) -> Edit:
        """The search-style fallback of a trial: a seeded draw from its menu."""
        rng = random.Random(f"archlab-module-trial/{seed}/{index}")
        return menu[rng.randrange(len(menu))].sample(rng)

    # ---- one request ---------------------------------------------------------------------

    def _ask(self, index: int, parent: Arch, direction: Direction) -> ModuleOutcome:
        c, exp = self.c, exp_id(index + 1)
        source = tools.render(parent, c.task.input_shape, c.task.num_classes)
        kind = INPUT_KINDS.get(len(c.task.input_shape), "seq B,C,L")
        proposal = guarded(lambda: c.coder.write_module(source, input_kind=kind, direction=direction,
                                                        step=f"module-{exp}"))
        if proposal is None:
            outcome = ModuleOutcome(index=index, exp_id=exp, status="rejected",
                                    reason="the coder gave no usable module (it failed the parse check twice)")
            return self._record(outcome, None)
        path = source_name(exp, proposal.name)
        write_text_atomic(self.ws.root / path, proposal.code if proposal.code.endswith("\n") else proposal.code + "\n")
        result = c.executor.submit(mine_request(f"{exp}-module", proposal.code, c.spec, c.settings)).result()
        outcome = ModuleOutcome(index=index, exp_id=exp, name=proposal.name, source_path=path, status="rejected")
        if not result.ok:
            first = (result.error or "").splitlines()[0] if result.error else "no reason given"
            outcome.reason, outcome.failure = f"{result.failure}: {first}", result.failure
        else:
            try:
                ops = [MinedOp.model_validate(raw) for raw in result.mined_ops]
            except ValueError as exc:
                ops, outcome.reason = [], f"compile: mined op is malformed: {one_line(exc, 200)}"
            known = {op.name: op.source for op in self.available(index)}
            clash = next((op.name for op in ops if known.get(op.name, op.source) != op.source), None)
            if clash:  # trees name ops by class: two codes under one name would be ambiguous
                ops, outcome.reason = [], f"compile: {clash} is already in the op library with other code; rename it"
            if ops:
                outcome.status, outcome.reason = "mined", result.error
                outcome.ops = [op.model_dump(mode="json") for op in ops]
        return self._record(outcome, path)

    def _record(self, outcome: ModuleOutcome, path: str | None) -> ModuleOutcome:
        """Write the log (and commit it with the source) before the outcome is used."""
        self.outcomes[outcome.index] = outcome
        rows = [self.outcomes[i].model_dump(mode="json") for i in sorted(self.outcomes)]
        write_json_atomic(log_path(self.ws.root), rows)
        if not self.lightweight:
            what = f"mined as {', '.join(op['name'] for op in outcome.ops)}" if outcome.status == "mined" \
                else f"rejected ({outcome.reason})"
            paths = [str(log_path(self.ws.root).relative_to(self.ws.root))] + ([path] if path else [])
            self.ws.commit(paths, f"module {outcome.exp_id} {outcome.name or '(none)'}: {what}"[:300])
        return outcome
