"""Issue 17: the spec says what the goal meant, sizes the confirmation stage, and adds nothing silently."""

from __future__ import annotations

import pytest

from archlab.agents import Planner
from archlab.cli import DEFAULT_MINUTES, with_default_budget
from archlab.llm import LLMClient


@pytest.fixture
def planner():
    return Planner(LLMClient("mock"))


def meanings(spec) -> dict[str, str]:
    return {term.phrase: term.meaning for term in spec.goal_terms}


def test_small_with_a_number_is_a_constraint_and_without_one_a_second_objective(planner):
    spec = planner.plan("find a small accurate model for MNIST-1D under 20k parameters")
    assert spec.constraints.max_params == 20_000 and spec.objectives == ["params"]
    said = meanings(spec)
    assert said["under 20k parameters"].startswith("constraint max_params = 20,000")
    assert said["small"].startswith("second objective: parameters")
    tiny = planner.plan("a tiny model for MNIST-1D")
    assert tiny.constraints.max_params is None and tiny.objectives == ["params"]  # no invented cap
    assert "no cap" in meanings(tiny)["tiny"]


def test_fast_is_a_flops_objective_and_a_latency_number_a_constraint(planner):
    spec = planner.plan("a fast model for mnist1d with latency under 2 ms")
    assert spec.objectives == ["flops"] and spec.constraints.max_latency_ms == 2.0
    assert any(m.startswith("constraint max_latency_ms = 2") for m in meanings(spec).values())
    plain = planner.plan("an accurate model for MNIST-1D")
    assert plain.objectives == [] and plain.goal_terms == []


def test_the_confirmation_stage_is_sized_to_the_budget_and_said_in_the_notes(planner):
    spec = planner.plan("an accurate model for MNIST-1D, 60 evaluations")
    assert spec.confirm is not None and (spec.confirm.top_k, spec.confirm.seeds) == (3, 3)
    assert any("the search gets 51 of the 60 evaluations" in note for note in spec.notes)
    few = planner.plan("an accurate model for MNIST-1D, 8 evaluations")
    assert few.confirm is None and any("too few" in note for note in few.notes)
    table = planner.plan("search table:/data/nb201 with random search, 200 evaluations")
    assert table.confirm is None and any("lookup table" in note for note in table.notes)


def test_a_budget_the_person_gave_is_the_only_budget(planner):
    evals_only = with_default_budget(planner.plan("an accurate model for MNIST-1D", {"max_evals": 30}))
    assert evals_only.budget.minutes is None and evals_only.budget.max_evals == 30
    assert not any("default" in note for note in evals_only.notes)
    in_goal = with_default_budget(planner.plan("an accurate model for MNIST-1D, 30 evaluations"))
    assert in_goal.budget.minutes is None
    none = with_default_budget(planner.plan("an accurate model for MNIST-1D"))
    assert none.budget.minutes == DEFAULT_MINUTES
    assert any(f"the default of {DEFAULT_MINUTES:g} minutes" in note for note in none.notes)
