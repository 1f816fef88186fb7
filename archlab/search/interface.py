"""The one small interface every search strategy offers the campaign.

A strategy is deterministic and seeded: its decisions are a pure function of its
constructor arguments and the sequence of calls below. Resume rebuilds it and
replays the recorded calls in their original order (there is no state_dict).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from archlab.records import Result
from archlab.search.archive import Entry
from archlab.search.proposal import Proposal
from archlab.tools import Arch


@runtime_checkable
class SearchStrategy(Protocol):
    """propose / claim / observe / supersede, and what it found."""

    def propose(self, step: int) -> Proposal:
        """The parent(s), the kind and place of the next edit and its legal menu, for step `step`."""
        ...

    def claim(self, arch: Arch) -> None:
        """The campaign will evaluate `arch` (perhaps another menu entry than the default):
        never offer it again, even before its result is observed."""
        ...

    def observe(self, candidate_id: str, arch: Arch, result: Result) -> None:
        """Fold in the result of the oldest unobserved proposal (first in, first out)."""
        ...

    def supersede(self, candidate_id: str, result: Result) -> bool:
        """A better estimate of an observed candidate (a higher-fidelity training); False if unknown."""
        ...

    def best(self) -> Entry | None:
        """The best observed candidate by validation score (earliest on ties)."""
        ...

    def counts(self) -> dict[str, int]:
        """Observed, rejected, duplicates avoided, elite cells."""
        ...
