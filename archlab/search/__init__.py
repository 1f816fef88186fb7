"""The deterministic search: one class per strategy behind one small interface.

Pure and seeded: every decision comes from the constructor arguments, the observed
results and a `random.Random` derived from (seed, step). Generic: no modality or
benchmark is named here (a closed cell space is recognised from the op table).

- `make_strategy(strategy, seed, seed_archs, input_shape, ...) -> SearchStrategy`
- `SearchStrategy` (propose / claim / observe / supersede / best / counts), `Proposal`, `SearchConfig`
- strategies: `RandomSearch`, `RegularizedEvolution`, `AgenticSearch`, `LocalSearch`
- archives: `Archive`, `Entry`, `Descriptor`, `Population`, `EliteGrid`, `ParetoFront`
- `check_constraints`, `CapCheck`, `BudgetTracker`, `BudgetUse`, `SearchError`
"""

from archlab.search.agentic import AgenticSearch
from archlab.search.archive import Archive, Descriptor, EliteGrid, Entry, ParetoFront, Population
from archlab.search.budget_tracker import BudgetTracker, BudgetUse
from archlab.search.constraints import CapCheck, check_constraints
from archlab.search.evolution import RegularizedEvolution
from archlab.search.factory import STRATEGIES, SearchError, make_strategy
from archlab.search.interface import SearchStrategy
from archlab.search.local_search import LocalSearch
from archlab.search.proposal import Proposal, SearchConfig
from archlab.search.random_search import RandomSearch

__all__ = [
    "make_strategy", "SearchStrategy", "SearchConfig", "Proposal", "SearchError", "STRATEGIES",
    "RandomSearch", "RegularizedEvolution", "AgenticSearch", "LocalSearch",
    "Archive", "Entry", "Descriptor", "Population", "EliteGrid", "ParetoFront",
    "check_constraints", "CapCheck", "BudgetTracker", "BudgetUse",
]
