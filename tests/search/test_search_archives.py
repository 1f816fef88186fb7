"""Archives (population, MAP-Elites, Pareto), budgets and constraints."""

from __future__ import annotations

import pytest

from archlab import tools
from archlab.records import Budget, Constraints, Result
from archlab.search import BudgetTracker, BudgetUse, EliteGrid, Entry, ParetoFront, Population, check_constraints
from archlab.search.descriptors import describe


def entry(i: int, val: float | None, params: int = 1000, test: float = 0.5) -> Entry:
    ok = val is not None
    result = Result(status="ok" if ok else "failed", failure=None if ok else "crashed", val_accuracy=val,
                    test_accuracy=test, params=params)
    arch = tools.seeds.mlp()
    return Entry(id=f"e{i}", order=i, arch=arch, arch_hash=f"h{i}", result=result,
                 descriptor=describe(arch, result) if ok else None)


def test_the_population_ages_out_the_oldest_not_the_worst():
    pop = Population(3)
    for i, val in enumerate([0.9, 0.1, 0.2, 0.3]):
        pop.add(entry(i, val))
    pop.add(entry(9, None))  # failures never join
    assert [e.id for e in pop.members] == ["e1", "e2", "e3"]


def test_the_elite_grid_keeps_the_best_per_cell_by_validation_only():
    grid = EliteGrid()
    assert grid.add(entry(0, 0.5, test=0.99))
    assert not grid.add(entry(1, 0.4, test=1.0))  # better test, worse validation: not an elite
    assert grid.add(entry(2, 0.6, test=0.1))
    assert grid.add(entry(3, 0.3, params=100_000))  # another parameter bucket: a new cell
    assert sorted(e.id for e in grid.elites.values()) == ["e2", "e3"]
    assert [e.id for e in grid.least_visited()] == ["e3"]


def test_the_pareto_front_keeps_only_non_dominated_entries():
    front = ParetoFront("params")
    for i, (val, params) in enumerate([(0.8, 5000), (0.9, 9000), (0.85, 4000), (0.7, 9500), (0.95, 20000)]):
        front.add(entry(i, val, params=params))
    assert [(e.score, e.result.params) for e in front.members] == [(0.85, 4000), (0.9, 9000), (0.95, 20000)]
    with pytest.raises(ValueError, match="Pareto cost"):
        ParetoFront("test_accuracy")


def test_the_budget_names_the_limit_that_stopped_the_run():
    tracker = BudgetTracker(Budget(max_evals=10, minutes=1.0, max_cost_usd=0.5))
    assert tracker.stop_reason(BudgetUse(evals=3, seconds=20)) is None
    assert tracker.stop_reason(BudgetUse(evals=10, seconds=20)) == "evaluations: 10 of 10"
    assert tracker.stop_reason(BudgetUse(evals=3, seconds=61)).startswith("time:")
    assert tracker.stop_reason(BudgetUse(evals=3, cost_usd=0.6)).startswith("model spend:")
    assert tracker.fractions(BudgetUse(evals=5, seconds=30)) == {"max_evals": 0.5, "minutes": 0.5, "max_cost_usd": 0.0}
    with pytest.raises(ValueError, match="max_evals must be positive"):
        BudgetTracker(Budget(max_evals=0))


def test_constraints_are_checked_before_training_with_a_one_line_reason():
    mlp = tools.seeds.mlp()  # about 15k parameters on (40,)
    assert check_constraints(mlp, (40,), 10, Constraints()) is None
    assert check_constraints(mlp, (40,), 10, Constraints(max_params=50_000)) is None
    reason = check_constraints(mlp, (40,), 10, Constraints(max_params=1000))
    assert reason is not None and "parameters > max 1,000" in reason and "\n" not in reason
    assert "FLOPs > max 10" in check_constraints(mlp, (40,), 10, Constraints(max_flops=10))
