"""Errors the campaign raises, each with a one-line `str()`.

The CLI maps `UsageError` to exit code 2 (the person asked for something that
cannot run) and `CampaignError` to exit code 1 (the run itself failed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CampaignError(Exception):
    """A campaign could not run or finish; the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class UsageError(CampaignError):
    """Bad input (goal, constraints, budget, model, folder): nothing was created."""


class SpendStop(Exception):
    """The model spend budget ran out while preparing a proposal (the loop stops cleanly)."""


def guarded(call: Callable[[], T]) -> T:
    """Run an agent call; the model's spend cap turns into a clean `SpendStop`, a dead model
    endpoint (`ModelUnreachable`, unless the fallback was allowed) into its one line (exit 1)."""
    from archlab.llm import ModelUnreachable, SpendExceeded

    try:
        return call()
    except SpendExceeded as exc:
        raise SpendStop(f"model spend budget reached: {exc}") from None
    except ModelUnreachable as exc:
        raise CampaignError(str(exc)) from None
