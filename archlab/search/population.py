"""How large regularized evolution's population and tournament are, for a given budget.

Kept apart from the strategy so the factory resolves `SearchConfig.population` and
`tournament` before any strategy (and its archive) is built.
"""

from __future__ import annotations

import math

# The rule's constants. Real et al. (2019) used P = 100, S = 25 (S/P = 1/4) for 20,000
# evaluations; AmoebaNet-scale populations make no sense at a few dozen evaluations, so P is
# a fifth of the budget (the warm-up of random samples is 20% of it), between 4 and 20 (20: the
# default this code used before, and what a budget of 100 or more gets), and S keeps Real et
# al.'s quarter of P but at least 2, so a parent is always the better of two.
WARMUP_FRACTION = 0.2
MIN_POPULATION, MAX_POPULATION = 4, 20
TOURNAMENT_FRACTION = 0.25


def population_for(max_evals: int | None) -> tuple[int, int]:
    """(P, S) for a campaign of `max_evals` evaluations; (20, 5) when the budget is not a count."""
    if not max_evals:
        return MAX_POPULATION, round(MAX_POPULATION * TOURNAMENT_FRACTION)
    population = min(MAX_POPULATION, max(MIN_POPULATION, round(max_evals * WARMUP_FRACTION)))
    return population, max(2, math.ceil(population * TOURNAMENT_FRACTION))
