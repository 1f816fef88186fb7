"""The four agents: each turns a context into a typed decision through llm/ and prompts/.

Every decision is valid whatever the model says: an invalid answer is re-asked
once, then replaced by a deterministic fallback, and all of it is counted in
the shared `LLMClient`'s usage.
"""

from archlab.agents.analyst import Analyst
from archlab.agents.coder import Coder
from archlab.agents.errors import PlanError
from archlab.agents.evaluator import Evaluator
from archlab.agents.planner import Planner
from archlab.agents.schemas import (
    EDIT_KINDS,
    MOVE_KINDS,
    Analysis,
    CoderChoice,
    Direction,
    EditStat,
    Evidence,
    FidelityContext,
    FidelityDecision,
    ModuleProposal,
    SearchSummary,
)

__all__ = [
    "EDIT_KINDS",
    "MOVE_KINDS",
    "Analysis",
    "Analyst",
    "Coder",
    "CoderChoice",
    "Direction",
    "EditStat",
    "Evaluator",
    "Evidence",
    "FidelityContext",
    "FidelityDecision",
    "ModuleProposal",
    "PlanError",
    "Planner",
    "SearchSummary",
]
