"""`make_strategy`: the one place that turns a strategy name and its inputs into a strategy object."""

from __future__ import annotations

from archlab import tools
from archlab.records import Constraints, Strategy
from archlab.search.agentic import AgenticSearch
from archlab.search.base import StrategyBase
from archlab.search.evolution import RegularizedEvolution
from archlab.search.local_search import LocalSearch
from archlab.search.population import resolved
from archlab.search.proposal import SearchConfig
from archlab.search.random_search import RandomSearch
from archlab.search.space import MoveSpace
from archlab.tools import Arch, SizeBudget

STRATEGIES: tuple[Strategy, ...] = ("random", "evolution", "agentic")
# Random samples that start each climb of local search on a cell space: on NAS-Bench-201 (tuning
# seeds 1000-1099, budget 100, menu focused) 10 measured 94.26 against 94.12 for the top-k
# parents; in a simulation of the table 5, 10 or 20 were alike.
CELL_RESTARTS = 10
# The head is counted for this many classes when the caller does not say (a lower bound).
_MIN_CLASSES = 2


class SearchError(ValueError):
    """Bad search input; `str()` is one line."""


def make_strategy(strategy: Strategy, seed: int, seed_archs: list[Arch], input_shape: tuple[int, ...],
                  constraints: Constraints | None = None, config: SearchConfig | None = None,
                  num_classes: int | None = None, max_evals: int | None = None) -> StrategyBase:
    """The search strategy `strategy` over trees grown from `seed_archs` (validated on `input_shape`).

    Every strategy draws from the same moves (`MoveSpace`): on trees the plain and macro edits,
    narrowed to `constraints.max_params` (classifier head for `num_classes` included). With
    `max_evals`, evolution's population and tournament scale to it (`population_for`); a closed
    cell space keeps 20 and 5. Agentic on a closed cell space (or with `config.restarts`) is
    local search with restarts.
    """
    if strategy not in STRATEGIES:
        raise SearchError(f"unknown strategy {strategy!r}: expected random, evolution or agentic")
    if not seed_archs:
        raise SearchError("the search needs at least one seed architecture")
    config = config or SearchConfig()
    shape = tuple(input_shape)
    for i, arch in enumerate(seed_archs):
        problems = tools.validate(arch, shape)
        if problems:
            raise SearchError(f"seed {i} is invalid for input {shape}: {problems[0]}")
    seeds = list(seed_archs)
    cap = (constraints or Constraints()).max_params
    budget = SizeBudget(max_params=cap, num_classes=num_classes or _MIN_CLASSES) if cap is not None else None
    space = MoveSpace(seeds, shape, config.kinds, budget)
    config = resolved(config, max_evals if space.cell is None else None)
    if strategy == "random":
        return RandomSearch(seed, seeds, space, config)
    if strategy == "evolution":
        return RegularizedEvolution(seed, seeds, space, config)
    default_restarts = CELL_RESTARTS if space.cell is not None else 0
    restarts = default_restarts if config.restarts is None else config.restarts
    if restarts:
        return LocalSearch(seed, seeds, space, config, restarts)
    return AgenticSearch(seed, seeds, space, config)
