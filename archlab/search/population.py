"""How large regularized evolution's population and tournament are, for a given budget.

Kept apart from the strategy so the factory resolves `SearchConfig.population` and
`tournament` before any strategy (and its archive) is built.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archlab.search.proposal import SearchConfig

# The rule's constants. Real et al. (2019) used P = 100, S = 25 (S/P = 1/4) for 20,000
# evaluations; AmoebaNet-scale populations make no sense at a few dozen evaluations, so P is
# a fifth of the budget (the warm-up of random samples is 20% of it), between 4 and 20 (20: the
# default this code used before, and what a budget of 100 or more gets).
#
# S: half of P when P scales with the budget (a quarter, Real et al.'s ratio, only for the
# unscaled default, so closed cell spaces decide as before). Why not a quarter at every size:
# the winner of a tournament of S is, on average, from the top 1/(S+1) of the population; at
# P = 100, S = 25 that is the top 4%, but a quarter of a small P is S = 2 (P = 6 at 30
# evaluations): the better of two, the top third, barely more selective than random search's
# uniform parent, while aging drops a good lineage's founder. At 30 evaluations from the MLP seed
# under a 25k cap (benchmarks/bench_search_reach.py: the search alone, fake scores favouring a
# convolutional front, tuning seeds 100-119) S = 2 ended 2 of 20 campaigns without a
# convolutional best, S = 3 none (17.5 convolutional candidates per campaign against 15.2); on
# the campaign benchmark at 100 steps (seeds 0-4) the median best rose from 51.3% to 62.7% (README).
WARMUP_FRACTION = 0.2
MIN_POPULATION, MAX_POPULATION = 4, 20
TOURNAMENT_FRACTION = 0.25  # the unscaled default (20, 5): Real et al.'s S/P
SCALED_TOURNAMENT_FRACTION = 0.5  # when P scales with the budget (see above)


def population_for(max_evals: int | None) -> tuple[int, int]:
    """(P, S) for a campaign of `max_evals` evaluations; (20, 5) when the budget is not a count."""
    if not max_evals:
        return MAX_POPULATION, round(MAX_POPULATION * TOURNAMENT_FRACTION)
    population = min(MAX_POPULATION, max(MIN_POPULATION, round(max_evals * WARMUP_FRACTION)))
    return population, max(2, math.ceil(population * SCALED_TOURNAMENT_FRACTION))


def resolved(config: SearchConfig, max_evals: int | None) -> SearchConfig:
    """`config` with P and S set: the values it gives, else `population_for(max_evals)` (the factory
    passes the budget; a strategy built directly gets the unscaled default)."""
    if config.population is not None and config.tournament is not None:
        return config
    population, contest = population_for(max_evals)
    return config.model_copy(update={"population": config.population or population,
                                     "tournament": config.tournament or contest})
