"""The coder: one filled choice from the legal-edit menu, or new module code when asked.

The model only ever picks a menu id and values for that entry's free
parameters; `Edit.fill` (tools) checks every value against its domain, so an
accepted answer is a legal edit by construction. Anything else is rejected,
counted, re-asked once, then replaced by the backbone's fallback edit.
"""

from __future__ import annotations

import ast
from typing import Any

from archlab.agents.base import Agent, fallback_reason
from archlab.agents.menu_format import coder_answer_schema, menu_lines
from archlab.agents.principle_format import principle_lines
from archlab.agents.schemas import CoderAnswer, CoderChoice, Direction, Evidence, ModuleAnswer, ModuleProposal
from archlab.errors import one_line


def compact_source(source: str, max_lines: int = 60) -> str:
    """The parent's `build_model()` (what the edit changes), not the helper classes around it."""
    start = source.find("def build_model")
    if start >= 0:
        body = source[start:]
        end = body.find("\nif __name__")
        source = body[:end] if end >= 0 else body
    lines = source.strip().splitlines()
    return "\n".join(lines[:max_lines] + ([f"# ... {len(lines) - max_lines} more lines"] if len(lines) > max_lines else []))


def shown_menu(menu: list[Any], limit: int) -> list[Any]:
    """At most `limit` entries, evenly spread and in order, so long menus keep prompts short."""
    if len(menu) <= limit:
        return list(menu)
    step = len(menu) / limit
    return [menu[int(i * step)] for i in range(limit)]


def _direction_dict(direction: Any) -> dict[str, Any]:
    if direction is None:
        return {}
    if isinstance(direction, Direction):
        return direction.model_dump(exclude={"source"})
    if isinstance(direction, dict):
        return direction
    return {"text": str(direction)}


class Coder(Agent):
    name = "coder"

    def __init__(self, client, max_menu: int = 40, max_evidence: int = 8) -> None:
        super().__init__(client)
        self.max_menu = max_menu
        self.max_evidence = max_evidence

    def choose(
        self,
        parent_source: str,
        menu: list[Any],
        direction: Any,
        memories: list[dict[str, Any]] | None,
        fallback: Any,
        step: str = "choose",
        constraints: dict[str, Any] | None = None,
        principles: list[dict[str, Any]] | None = None,
    ) -> CoderChoice:
        """A legal, filled edit from `menu`, or `fallback` (already filled) when the model fails.

        `principles`: design priors retrieved for the task (`Memory.principles_for` rows), shown
        as one compact line each (principle_format.py)."""
        entries = shown_menu(menu, self.max_menu)
        if not entries:
            return CoderChoice(edit=fallback, source="fallback", rationale="empty menu")
        evidence = [Evidence.from_memory(m) for m in (memories or [])][: self.max_evidence]
        chosen: dict[str, Any] = {}

        def check(answer: CoderAnswer) -> None:
            index = int(answer.choice[1:])
            if index >= len(entries):
                raise ValueError(f"choice {answer.choice} is not on the menu (E0..E{len(entries) - 1})")
            try:
                chosen["edit"] = entries[index].fill(answer.params)
            except Exception as error:  # tools.EditError: out of domain, unknown or missing value
                raise ValueError(one_line(error)) from None

        answer = self._ask("coder", step, CoderAnswer, {
            "parent_source": compact_source(parent_source),
            "menu_lines": menu_lines(entries),
            "direction": _direction_dict(direction),
            "evidence": [e.model_dump(exclude_defaults=True) for e in evidence],
            "constraints": {k: v for k, v in (constraints or {}).items() if v is not None},
            "principle_lines": principle_lines(principles),
        }, check=check, json_schema=coder_answer_schema(entries))
        if answer.value is None:
            return CoderChoice(edit=fallback, source="fallback", rationale=f"fallback: {fallback_reason(answer)}")
        return CoderChoice(edit=chosen["edit"], source="model", rationale=answer.value.rationale,
                           menu_id=answer.value.choice)

    def write_module(
        self,
        parent_source: str,
        input_kind: str = "seq B,C,L",
        direction: Any = None,
        step: str = "module",
    ) -> ModuleProposal | None:
        """New module code as a string (never executed here), or None when the model gives none usable.

        The answer must parse as Python and define the named `nn.Module` subclass; the
        campaign then sends it to the sandbox's compile check and to code mining.
        """
        def check(answer: ModuleAnswer) -> None:
            try:
                tree = ast.parse(answer.code)
            except SyntaxError as error:
                raise ValueError(f"code does not parse: line {error.lineno}: {error.msg}") from None
            classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
            if answer.name not in classes:
                raise ValueError(f"code defines no class {answer.name!r} (found: {', '.join(classes) or 'none'})")
            bases = [ast.unparse(base) for base in classes[answer.name].bases]
            if not any(base.endswith("Module") for base in bases):
                raise ValueError(f"class {answer.name} must subclass nn.Module (bases: {', '.join(bases) or 'none'})")

        answer = self._ask("coder-module", step, ModuleAnswer, {
            "parent_source": compact_source(parent_source),
            "input_kind": input_kind,
            "request": {"direction": str(_direction_dict(direction).get("text", "")), "input_kind": input_kind},
        }, check=check)
        if answer.value is None:
            return None
        return ModuleProposal(**answer.value.model_dump(), source="model")
