"""What the goal meant, said in the spec: limits, preferences and the confirmation stage.

The planner (a model, or the offline parser) reads numbers from the goal. This
module then states, for the person to check in the printed spec and the
report, what each phrase became: "under 20k parameters" a hard constraint;
"small" or "fast" with no number a second objective (parameters or FLOPs,
shown as a Pareto front), never an invented cap. It also sizes the
confirmation stage to the budget and says how it is paid for. Nothing is added
that the spec does not show.
"""

from __future__ import annotations

from typing import Any

from archlab.llm.mock.goal import goal_phrases
from archlab.records import Budget, ConfirmSpec, Constraints, GoalTerm, Objective

CONFIRM_SEEDS = 3
CONFIRM_TOP_K = 3
CONFIRM_SHARE = 4  # the confirmation takes at most a quarter of an evaluation budget


def describe_goal(goal: str, constraints: Constraints, flagged: set[str]) -> tuple[list[GoalTerm], list[Objective]]:
    """Each limit and preference of the goal as a GoalTerm, and the second objectives they ask for.

    `flagged`: constraint names the person set by flag or config (they win over the goal)."""
    phrases = goal_phrases(goal)
    terms: list[GoalTerm] = []
    for key, unit, fmt in (("max_params", "parameters", "{:,}"), ("max_flops", "FLOPs", "{:,}"),
                           ("max_latency_ms", "ms of latency", "{:g}")):
        value = getattr(constraints, key)
        if value is None:
            continue
        phrase = f"--{key.replace('_', '-')} {value:g}" if key in flagged else phrases.get(key, key)
        terms.append(GoalTerm(phrase=phrase, meaning=f"constraint {key} = {fmt.format(value)}: a candidate "
                                                     f"with more {unit} is never trained"))
    objectives: list[Objective] = []
    if "size" in phrases:
        objectives.append("params")
        cap = f"; within the cap of {constraints.max_params:,}" if constraints.max_params is not None else "; no cap"
        terms.append(GoalTerm(phrase=phrases["size"], meaning=f"second objective: parameters (minimised; the report "
                                                               f"shows the Pareto front of accuracy against parameters{cap})"))
    if "speed" in phrases:
        objectives.append("flops")
        terms.append(GoalTerm(phrase=phrases["speed"], meaning="second objective: FLOPs (minimised, a stand-in for "
                                                                "latency that a busy machine cannot skew; Pareto front "
                                                                "of accuracy against FLOPs in the report)"))
    return terms, objectives


def plan_confirmation(task: str, budget: Budget, asked: dict[str, Any] | None) -> tuple[ConfirmSpec | None, str]:
    """The confirmation stage for this task and budget (or none), and the note that says so in the spec."""
    if task.startswith("table:"):
        return None, ("no confirmation stage: a lookup table holds one number per cell, so there is nothing to "
                      "train again")
    if asked is not None:
        confirm = ConfirmSpec.model_validate(asked)
    else:
        top_k = CONFIRM_TOP_K
        if budget.max_evals is not None:
            top_k = min(CONFIRM_TOP_K, budget.max_evals // (CONFIRM_SHARE * CONFIRM_SEEDS))
        if top_k < 1:
            need = CONFIRM_SHARE * CONFIRM_SEEDS
            return None, (f"no confirmation stage: {budget.max_evals} evaluations are too few (confirming even one "
                          f"candidate with {CONFIRM_SEEDS} seeds takes {CONFIRM_SEEDS}, at most a quarter of the budget: "
                          f"give at least {need}); the best is a single run; `archlab confirm DIR` can confirm later")
        confirm = ConfirmSpec(top_k=top_k, seeds=CONFIRM_SEEDS)
    return confirm, confirmation_note(confirm, budget)


def confirmation_note(confirm: ConfirmSpec, budget: Budget) -> str:
    """One line: what the stage does and how it is paid for."""
    what = (f"confirmation: the top {confirm.top_k} by validation are trained again with {confirm.seeds} fresh seeds "
            f"each ({confirm.trainings} trainings; on a validation split below {confirm.small_val:,} samples each run "
            f"is also scored on a holdout of the training data) and the best is chosen on the mean")
    if confirm.paid_by == "extra":
        return what + "; paid on top of the budget"
    evals = (f"the search gets {max(1, budget.max_evals - confirm.trainings)} of the {budget.max_evals} evaluations, "
             if budget.max_evals is not None else "")
    return (what + f"; paid from the budget: {evals}and under a time budget the search stops once the time left is "
            "what the confirmation is estimated to need")
