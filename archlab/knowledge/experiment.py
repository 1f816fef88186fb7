"""The experiment record: everything archlab remembers about one evaluation.

The campaign writes one `record.json` per experiment into its folder (the source
of truth); the memory only indexes these records, so any index can be rebuilt
from the folder (see `reindex`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from archlab.errors import one_line
from archlab.knowledge.errors import KnowledgeError
from archlab.records import Result, Strategy


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# Who picked the experiment's edit: none (a seed as given), the search alone (random, evolution),
# the coder's model, the fallback after a bad answer (the search's own pick), a seeded uniform
# draw from the menu (`coder: random`), or a promotion of a low-fidelity result.
Chooser = Literal["seed", "search", "model", "fallback", "random", "promotion"]


CHOOSERS = {"seed": "none (a seed architecture as given)", "search": "the search (no model asked)",
            "model": "the coder (model)", "fallback": "the search's own pick (fallback after the coder's answer failed)",
            "random": "a seeded uniform draw (coder: random)", "promotion": "a promotion (same tree, higher fidelity)"}


class Decision(BaseModel):
    """Why this candidate: the search's reason for the parent and the move, and who chose the edit."""

    model_config = ConfigDict(extra="forbid")

    search: str = ""  # the search's one line: parent choice, move kind, restart or kick (Proposal.note)
    own_pick: str = ""  # the search's own filled edit (the coder's fallback), described
    walk: int = 0  # random edits the search made before the move (a kick, a random sample)
    menu_size: int = 0  # entries on the menu the edit was chosen from
    chooser: Chooser = "search"
    choice: str | None = None  # the menu id the coder answered ("E3")
    rationale: str = ""  # the coder's reason, or why the fallback or the draw was used
    principles: list[str] = Field(default_factory=list)  # design principles shown to the coder, by name

    def lines(self) -> list[str]:
        """The decision for a reader (`archlab show`, the report): the search's reason, then who
        chose the edit and why."""
        out = [f"search: {self.search or '(no reason recorded)'}"]
        if self.walk:
            out.append(f"random edits before the move: {self.walk}")
        if self.own_pick and self.chooser not in ("search", "seed", "promotion"):
            out.append(f"search's own pick: {self.own_pick}")
        chosen = f"chosen by: {CHOOSERS.get(self.chooser, self.chooser)}"
        if self.choice:
            chosen += f", {self.choice}" + (f" of {self.menu_size} menu entries" if self.menu_size else "")
        out.append(chosen)
        if self.rationale:
            out.append(f"why: {self.rationale}")
        if self.principles:
            out.append(f"principles shown: {', '.join(self.principles)}")
        return out


class ExperimentRecord(BaseModel):
    """One experiment: which tree, made how, from whom, and what came out."""

    model_config = ConfigDict(extra="forbid")

    id: str  # e0001, ... unique within a campaign (the memory keys on campaign/id)
    campaign: str
    generation: int = 0
    parent_ids: list[str] = Field(default_factory=list)
    edit: dict | None = None  # the applied archlab.tools Edit as JSON; None for seeds
    arch: dict  # the archlab.tools Arch as JSON
    arch_hash: str
    code_path: str = ""  # the rendered model.py, relative to the campaign folder
    result: Result
    analysis: str = ""  # the analyst's reading of the result
    insights: list[str] = Field(default_factory=list)
    strategy: Strategy = "agentic"
    task: str = ""  # e.g. "mnist1d": dedup only reuses results of the same task
    decision: Decision | None = None  # why this candidate (None in records written before decisions were)
    created_at: datetime = Field(default_factory=_utc_now)
    finished_at: datetime | None = None

    @field_validator("id", "campaign")
    @classmethod
    def _usable_as_key(cls, value: str) -> str:
        if not value or "/" in value:
            raise ValueError(f"must be non-empty and contain no '/', got {value!r}")
        return value

    @property
    def key(self) -> str:
        """The memory's key: experiment ids repeat across campaigns (e0001 in each)."""
        return f"{self.campaign}/{self.id}"


def read_record(path: Path) -> ExperimentRecord:
    """Read one record.json; raise KnowledgeError with one line naming the file."""
    try:
        return ExperimentRecord.model_validate_json(Path(path).read_bytes())
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        raise KnowledgeError(
            f"{path}: {where}: {first['msg']} ({error.error_count()} error(s))"
        ) from None
    except OSError as error:
        raise KnowledgeError(f"{path}: cannot read: {one_line(error)}") from None
