"""What a search strategy hands the campaign for one step, and how strategies are tuned."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from archlab.records import Strategy
from archlab.tools import Arch, Edit


class SearchConfig(BaseModel):
    """Knobs of the strategies; the defaults are the literature's where one exists."""

    model_config = ConfigDict(extra="forbid")

    # P and S of regularized evolution (the aging population, the tournament). None: scaled to
    # the evaluation budget on trees (see evolution.population_for), 20 and 5 on a closed cell space.
    population: int | None = Field(None, ge=2)
    tournament: int | None = Field(None, ge=1)
    # Random edits per random proposal (and evolution's warm-up). None: 1 on trees, and on a
    # closed cell space one per slot, so random search samples cells near uniformly.
    random_walk: int | None = Field(None, ge=1)
    dedup_tries: int = Field(20, ge=1)  # redraws before accepting an already-seen structure
    exploit: float = Field(0.9, ge=0.0, le=1.0)  # agentic: chance of a top parent vs a diverse elite
    top_k: int = Field(2, ge=1)  # agentic: how many of the best count as "top"
    seeds_first: bool = True  # evaluate each seed architecture as it is before editing
    kinds: list[str] | None = None  # edit kinds the search may use (None: all legal ones; a cell space's own kind)
    pareto_cost: str = "params"
    # Agentic on trees: the most entries of the coder's menu (every kind of move on it, see
    # agentic_menu.py); the coder's prompt shows at most 40.
    menu_limit: int = Field(40, ge=1)
    # Local search (agentic on a cell space): narrow the coder's menu to the kinds of change that
    # improved most (UCB). None: on, except on a cell space without restarts, where climbing from
    # the top-k with a narrowed menu hid the second edit a local optimum needed.
    focus: bool | None = None
    # Agentic as local search with restarts: climb from the best result of the current climb
    # (a fresh neighbour each step, the coder choosing which); when every neighbour of it has
    # been seen (a local optimum), start a new climb from this many random samples. Only where
    # neighbourhoods are small enough to use up. None: 10 on a closed cell space (measured on
    # NAS-Bench-201, see the README), 0 (off: top-k / diverse-elite parents) on trees.
    restarts: int | None = Field(None, ge=0)


class Proposal(BaseModel):
    """One step's decision: which parent(s), which kind of edit where, and the legal menu.

    The campaign applies `default` to `parent_arch` (random, evolution), or asks the
    coder to pick from `menu` with `default` as its fallback (agentic). A proposal
    with `default=None` asks to evaluate `parent_arch` unchanged (a seed).
    `walk` lists edits the strategy already applied to the parent's tree to reach
    `parent_arch` (only with `random_walk > 1`), so the lineage stays honest.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    step: int
    strategy: Strategy
    parent_ids: list[str]
    parent_arch: Arch
    donor_id: str | None = None
    donor_arch: Arch | None = None
    edit_kind: str | None = None
    path: str | None = None
    menu: list[Edit] = Field(default_factory=list)  # legal on parent_arch
    default: Edit | None = None  # filled
    walk: list[Edit] = Field(default_factory=list)
    note: str = ""  # one line: why this parent and this move

    @property
    def is_seed(self) -> bool:
        return self.default is None
