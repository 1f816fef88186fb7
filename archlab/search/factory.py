"""`make_strategy`: the one place that turns a strategy name and its inputs into a strategy object."""

from __future__ import annotations

from archlab import tools
from archlab.records import Constraints, Strategy
from archlab.search.agentic import AgenticSearch
from archlab.search.base import StrategyBase
from archlab.search.constraints import CapCheck
from archlab.search.evolution import RegularizedEvolution
from archlab.search.local_search import LocalSearch
from archlab.search.proposal import SearchConfig
from archlab.search.random_search import RandomSearch
from archlab.search.space import MoveSpace
from archlab.search.stages import Fits
from archlab.tools import Arch

STRATEGIES: tuple[Strategy, ...] = ("random", "evolution", "agentic")
# Random samples that start each climb of local search on a cell space: on NAS-Bench-201 (tuning
# seeds 1000-1099, budget 100, menu focused) 10 measured 94.26 against 94.12 for the top-k
# parents; in a simulation of the table 5, 10 or 20 were alike.
CELL_RESTARTS = 10


class SearchError(ValueError):
    """Bad search input; `str()` is one line."""


def make_strategy(strategy: Strategy, seed: int, seed_archs: list[Arch], input_shape: tuple[int, ...],
                  constraints: Constraints | None = None, config: SearchConfig | None = None,
                  num_classes: int | None = None, fits: Fits | None = None) -> StrategyBase:
    """The search strategy `strategy` over trees grown from `seed_archs` (validated on `input_shape`).

    `fits` judges whether a tree meets the parameter and FLOP caps (the agentic strategy sizes
    the menus of its staged moves with it); default `CapCheck(constraints, input_shape, num_classes)`.
    Agentic on a closed cell space (or with `config.restarts`) is local search with restarts.
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
    space = MoveSpace(seeds, shape, config.kinds)
    if strategy == "random":
        return RandomSearch(seed, seeds, space, config)
    if strategy == "evolution":
        return RegularizedEvolution(seed, seeds, space, config)
    default_restarts = CELL_RESTARTS if space.cell is not None else 0
    restarts = default_restarts if config.restarts is None else config.restarts
    if restarts:
        return LocalSearch(seed, seeds, space, config, restarts)
    return AgenticSearch(seed, seeds, space, config, fits or CapCheck(constraints or Constraints(), shape, num_classes))
