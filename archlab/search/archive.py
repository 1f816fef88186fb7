"""What the search remembers: every entry, the aging population, the MAP-Elites
grid and the Pareto front. All of it is built from validation metrics only:
`Result.test_*` is never read here (the report reads it, the search does not).

`Archive` holds all four behind two writes, `register` (a new observation) and
`supersede` (a better estimate of one already held), in the manner of
FunSearch's `ProgramsDatabase.register_program`: strategies read it, nobody
outside rewrites its members.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from archlab.records import Result
from archlab.tools import Arch


class Descriptor(BaseModel):
    """A MAP-Elites cell: coarse size, depth and the dominant op family of a tree."""

    model_config = ConfigDict(frozen=True)

    params_bucket: int  # floor(log2(params)), -1 when unknown
    depth_bucket: int  # op nodes (or live cell edges), bucketed
    family: str  # most frequent op family (conv, mlp, pool, skip, ...)

    def label(self) -> str:
        return f"2^{self.params_bucket} params / depth {self.depth_bucket} / {self.family}"


class Entry(BaseModel):
    """One observed candidate, as a strategy sees it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    order: int  # position in the observation sequence
    arch: Arch
    arch_hash: str
    result: Result
    parent_ids: list[str] = []
    edit_kind: str | None = None
    edit_path: str | None = None
    descriptor: Descriptor | None = None

    @property
    def score(self) -> float | None:
        """The search signal: validation accuracy of a successful evaluation, else None."""
        r = self.result
        return r.val_accuracy if r.ok and r.val_accuracy is not None else None


class Population:
    """Regularized ("aging") evolution's population: the last `size` scored entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.members: deque[Entry] = deque(maxlen=size)

    def add(self, entry: Entry) -> None:
        if entry.score is not None:
            self.members.append(entry)  # the oldest falls out: aging, not the worst

    def __len__(self) -> int:
        return len(self.members)


class EliteGrid:
    """MAP-Elites: the best entry per descriptor cell, and how often each cell was used."""

    def __init__(self) -> None:
        self.elites: dict[Descriptor, Entry] = {}
        self.visits: Counter[Descriptor] = Counter()

    def add(self, entry: Entry) -> bool:
        """Place a scored entry; True when it became its cell's elite."""
        if entry.score is None or entry.descriptor is None:
            return False
        self.visits[entry.descriptor] += 1
        current = self.elites.get(entry.descriptor)
        if current is None or entry.score > (current.score or 0.0):
            self.elites[entry.descriptor] = entry
            return True
        return False

    def rebuild(self, entries: Sequence[Entry]) -> None:
        """The elites again from every entry in order (after a score changed); visits stay."""
        elites: dict[Descriptor, Entry] = {}
        for entry in entries:
            if entry.score is None or entry.descriptor is None:
                continue
            current = elites.get(entry.descriptor)
            if current is None or entry.score > (current.score or 0.0):
                elites[entry.descriptor] = entry
        self.elites = elites

    def least_visited(self) -> list[Entry]:
        """Elites of the cells explored least (ties kept, in insertion order)."""
        if not self.elites:
            return []
        fewest = min(self.visits[d] for d in self.elites)
        return [e for d, e in self.elites.items() if self.visits[d] == fewest]


class ParetoFront:
    """Non-dominated entries: higher validation score, lower cost (params, FLOPs or latency)."""

    def __init__(self, cost: str = "params") -> None:
        if cost not in ("params", "flops", "latency_ms"):
            raise ValueError(f"Pareto cost must be params, flops or latency_ms, got {cost!r}")
        self.cost = cost
        self.members: list[Entry] = []

    def _cost(self, entry: Entry) -> float | None:
        value = getattr(entry.result, self.cost)
        return None if value is None else float(value)

    def add(self, entry: Entry) -> bool:
        """Insert if not dominated; drop members it dominates. True when it joined."""
        score, cost = entry.score, self._cost(entry)
        if score is None or cost is None:
            return False
        for m in self.members:
            ms, mc = m.score or 0.0, self._cost(m) or 0.0
            if ms >= score and mc <= cost:
                return False
        self.members = [
            m for m in self.members if not (score >= (m.score or 0.0) and cost <= (self._cost(m) or 0.0))
        ]
        self.members.append(entry)
        self.members.sort(key=lambda m: self._cost(m) or 0.0)
        return True

    def rebuild(self, entries: Sequence[Entry]) -> None:
        """The front again from every entry in order (after a score changed)."""
        self.members = []
        for entry in entries:
            self.add(entry)


class Archive:
    """Every observed entry, in order, and the archives built from them."""

    def __init__(self, population: int, pareto_cost: str = "params") -> None:
        self._entries: list[Entry] = []
        self.population = Population(population)
        self.grid = EliteGrid()
        self.pareto = ParetoFront(pareto_cost)

    @property
    def entries(self) -> Sequence[Entry]:
        """Observed entries in observation order (read-only: write through `register`)."""
        return tuple(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def register(self, entry: Entry) -> None:
        """Add one observed, scored or failed entry to every archive."""
        self._entries.append(entry)
        self.population.add(entry)
        self.grid.add(entry)
        self.pareto.add(entry)

    def supersede(self, entry_id: str, result: Result) -> bool:
        """Give entry `entry_id` a better estimate (a higher-fidelity training); False if it holds
        none or the result has no score. Population members are the same entries, so they see it;
        the elites and the Pareto front, which rank by score, are rebuilt in observation order."""
        if not result.ok or result.val_accuracy is None:
            return False
        entry = next((e for e in self._entries if e.id == entry_id), None)
        if entry is None or entry.descriptor is None:
            return False
        entry.result = result
        self.grid.rebuild(self._entries)
        self.pareto.rebuild(self._entries)
        return True

    def get(self, entry_id: str) -> Entry | None:
        """The latest entry with this id."""
        return next((e for e in reversed(self._entries) if e.id == entry_id), None)

    def scored(self) -> list[Entry]:
        """Entries with a validation score, in observation order."""
        return [e for e in self._entries if e.score is not None]

    def best(self) -> Entry | None:
        """The best entry by validation score (earliest on ties)."""
        scored = self.scored()
        return min(scored, key=lambda e: (-(e.score or 0.0), e.order)) if scored else None
