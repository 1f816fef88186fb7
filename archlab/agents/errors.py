"""Agent-level errors; each `str()` is one line."""


class PlanError(ValueError):
    """The goal cannot become a campaign spec (no task, contradictory numbers, ...)."""
