"""The planner: goal text -> CampaignSpec, and a research direction each generation."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from archlab.agents.base import Agent, fallback_reason
from archlab.agents.errors import PlanError
from archlab.agents.principle_format import principle_lines
from archlab.agents.schemas import MOVE_KINDS, Direction, DirectionAnswer, PlanAnswer, SearchSummary
from archlab.agents.spec_terms import describe_goal, plan_confirmation
from archlab.llm import schema_of
from archlab.llm.extract import one_line_validation_error
from archlab.llm.mock.goal import parse_goal
from archlab.records import Budget, CampaignSpec, Constraints

SEED_NAMES = ("mlp", "mnist1d_cnn", "nb201")  # and nb201:CELL for one given cell
MAX_GOAL_CHARS = 2000  # a goal is a paragraph; longer ones are cut (at a word) with a note in the spec
_CONSTRAINT_KEYS = ("max_params", "max_flops", "max_latency_ms")
_BUDGET_KEYS = ("max_evals", "minutes", "max_tokens", "max_cost_usd")
_TOP_KEYS = ("task", "metric", "direction", "target", "strategy", "seed", "seed_archs", "model", "notes", "confirm")


def _seeds_for(task: str, names: list[str] | None) -> list[str] | None:
    """The planned seeds that can run on the task: a lookup table answers only for its cells
    (default: the all-3x3 cell), and a cell needs the table's image input."""
    names = list(names or [])
    cells = [n for n in names if n == "nb201" or n.startswith("nb201:")]
    if task.startswith("table:"):
        return cells or ["nb201"]
    return [n for n in names if n not in cells] or None


def cut_goal(goal: str, limit: int = MAX_GOAL_CHARS) -> tuple[str, str | None]:
    """The goal within `limit` characters (cut at the last word that fits) and the note saying so."""
    if len(goal) <= limit:
        return goal, None
    cut = goal[: limit + 1].rsplit(" ", 1)[0] if " " in goal[:limit] else goal[:limit]
    return cut, f"goal cut from {len(goal):,} to {len(cut):,} characters (the limit is {limit:,})"


def _task_ok(task: str) -> bool:
    return task == "mnist1d" or (task.startswith(("npz:", "table:")) and len(task.split(":", 1)[1]) > 0)


def direction_schema() -> dict[str, Any]:
    """The direction answer's schema with the edit kinds named (the validator's list)."""
    schema = schema_of(DirectionAnswer)
    for field in ("favour_kinds", "avoid_kinds"):
        schema["properties"][field]["items"] = {"enum": list(MOVE_KINDS)}
    return schema


class Planner(Agent):
    name = "planner"

    def __init__(self, client, seed_names: tuple[str, ...] = SEED_NAMES) -> None:
        super().__init__(client)
        self.seed_names = seed_names

    def plan(self, goal: str, overrides: dict[str, Any] | None = None) -> CampaignSpec:
        """Read the goal (model, else the offline parser), then apply explicit overrides.

        Overrides use CampaignSpec names, flat (`max_params`, `max_evals`, `task`, `seed`, ...)
        or nested (`constraints`, `budget`); None values are ignored.
        """
        goal = " ".join((goal or "").split())
        if not goal:
            raise PlanError("the goal is empty: describe what to search for")
        goal, cut = cut_goal(goal)
        answer = self._ask("planner", "plan", PlanAnswer, {"goal": goal, "seed_names": list(self.seed_names)})
        if answer.value is not None:
            fields = answer.value.model_dump()
        else:
            fields = PlanAnswer.model_validate(parse_goal(goal)).model_dump()
            fields["notes"] = [f"model answer unusable ({fallback_reason(answer)}); used the offline goal parser"]
        if cut:
            fields["notes"] = [cut] + list(fields.get("notes") or [])
        return self._spec(goal, fields, overrides or {})

    def _spec(self, goal: str, fields: dict[str, Any], overrides: dict[str, Any]) -> CampaignSpec:
        over = {k: v for k, v in overrides.items() if v is not None}
        constraints = {k: fields.get(k) for k in _CONSTRAINT_KEYS}
        flagged = {k for k in _CONSTRAINT_KEYS if k in over or k in (over.get("constraints") or {})}
        constraints.update(over.pop("constraints", {}) or {})
        asked_confirm = over.pop("confirm", None)
        budget = {"max_evals": fields.get("max_evals"), "minutes": fields.get("minutes")}
        if budget["max_evals"] is None and budget["minutes"] is None:
            budget = {}  # the goal names no budget: Budget's defaults apply
        budget.update(over.pop("budget", {}) or {})
        for key in list(over):
            if key in _CONSTRAINT_KEYS:
                constraints[key] = over.pop(key)
            elif key in _BUDGET_KEYS:
                budget[key] = over.pop(key)
        unknown = sorted(set(over) - set(_TOP_KEYS))
        if unknown:
            raise PlanError(f"unknown plan override(s): {', '.join(unknown)}")
        top = {k: fields[k] for k in ("task", "metric", "direction", "target", "strategy", "notes") if k in fields}
        if fields.get("seed_archs"):
            known = [name for name in fields["seed_archs"]
                     if name in self.seed_names or str(name).startswith("nb201:")]
            top["seed_archs"] = known or list(self.seed_names)
        top.setdefault("model", self.client.model)
        top.update(over)
        task = top.get("task")
        if not task:
            raise PlanError("the goal names no known task (mnist1d, npz:PATH, table:PATH) and gives no data; name one")
        if not _task_ok(str(task)):
            raise PlanError(f"unknown task {task!r}: use mnist1d, npz:PATH or table:PATH")
        if "seed_archs" not in over:  # the person's own seeds are checked against the task, not changed
            seeds = _seeds_for(str(task), top.pop("seed_archs", None))
            if seeds:
                top["seed_archs"] = seeds
        if any(budget.get(k) is not None and budget[k] <= 0 for k in _BUDGET_KEYS):
            raise PlanError(f"the budget must be positive, got {({k: v for k, v in budget.items() if v is not None})}")
        try:
            spec = CampaignSpec(goal=goal, constraints=Constraints(**constraints), budget=Budget(**budget), **top)
            confirm, note = plan_confirmation(spec.task, spec.budget, asked_confirm)
        except ValidationError as error:
            raise PlanError(f"invalid plan: {one_line_validation_error(error)}") from None
        terms, objectives = describe_goal(goal, spec.constraints, flagged)
        return spec.model_copy(update={"confirm": confirm, "goal_terms": terms, "objectives": objectives,
                                       "notes": [*spec.notes, note]})

    def direction(self, summary: SearchSummary | dict[str, Any], memories: list[Any] | None = None,
                  step: str | None = None, principles: list[dict[str, Any]] | None = None) -> Direction:
        """A short research direction for the next generation (fallback: no preference).
        `principles`: design priors retrieved for the goal, one compact line each in the prompt."""
        if not isinstance(summary, SearchSummary):
            summary = SearchSummary.from_campaign_summary(dict(summary or {}))
        rows = [m if isinstance(m, dict) else {"text": str(m)} for m in (memories or [])][:8]
        step = step or f"direction-g{summary.generation}-n{summary.evaluated}"
        answer = self._ask("planner-direction", step, DirectionAnswer, {
            "summary": summary.model_dump(), "memories": rows, "principle_lines": principle_lines(principles),
        }, json_schema=direction_schema())
        if answer.value is None:
            return Direction(text=f"no preference (fallback: {fallback_reason(answer)})", source="fallback")
        return Direction(**answer.value.model_dump(), source="model")
