"""The deterministic search backbone: parents, moves, archives, constraints, budgets.

Pure and seeded: every decision comes from the constructor arguments, the
observed results and a `random.Random` derived from (seed, step).
"""

from archlab.search.archive import Descriptor, EliteGrid, Entry, ParetoFront, Population
from archlab.search.backbone import STRATEGIES, Backbone, SearchError
from archlab.search.budget import BudgetTracker, BudgetUse
from archlab.search.constraints import check_constraints
from archlab.search.proposal import BackboneConfig, Proposal

__all__ = [
    "Backbone", "BackboneConfig", "Proposal", "SearchError", "STRATEGIES",
    "Entry", "Descriptor", "Population", "EliteGrid", "ParetoFront",
    "check_constraints", "BudgetTracker", "BudgetUse",
]
