"""The deterministic search: one class per strategy behind one small interface.

Pure and seeded: every decision comes from the constructor arguments, the observed
results and a `random.Random` derived from (seed, step). Generic: no modality or
benchmark is named here (a closed cell space is recognised from the op table).
Fair: every strategy draws from the same moves (space.py: plain and macro edits within
the size budget); random and evolution draw an edit kind first, then an entry
(selection.kind_then_entry); agentic lets the coder choose from a menu of every kind.

- `make_strategy(strategy, seed, seed_archs, input_shape, ...) -> SearchStrategy`
- `SearchStrategy` (propose / claim / observe / supersede / best / counts), `Proposal`, `SearchConfig`
- strategies: `RandomSearch`, `RegularizedEvolution`, `AgenticSearch`, `LocalSearch`
- archives: `Archive`, `Entry`, `Descriptor`, `Population`, `EliteGrid`, `ParetoFront`
- `check_constraints`, `BudgetTracker`, `BudgetUse`, `SearchError`
"""

from archlab.search.agentic import AgenticSearch
from archlab.search.archive import Archive, Descriptor, EliteGrid, Entry, ParetoFront, Population
from archlab.search.budget_tracker import BudgetTracker, BudgetUse
from archlab.search.constraints import check_constraints
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
    "check_constraints", "BudgetTracker", "BudgetUse",
]
