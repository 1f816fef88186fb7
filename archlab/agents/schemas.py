"""What the agents exchange: the model's answer schemas and the typed decisions.

Answer schemas (`*Answer`) are what a model must return; they are strict so
that a malformed answer is refused and re-asked. Decisions (`Direction`,
`CoderChoice`, ...) are what the campaign receives, always valid, with `source`
saying whether the model or the deterministic fallback made them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from archlab.tools import MACRO_KINDS

EDIT_KINDS = (
    "insert", "remove", "replace", "set_param", "wrap_residual",
    "add_branch", "swap_act", "swap_norm", "crossover", "cell_edge",
)
# With the tools' macro moves (stem, downsample, deepen, widen, make_room: coarse steps on trees):
# every kind a menu entry, a direction or an analysis may name.
MOVE_KINDS = EDIT_KINDS + tuple(MACRO_KINDS)
Source = Literal["model", "fallback"]
# Who picked a candidate's edit: the model, the fallback (the search's own pick, after a bad
# answer), a seeded uniform draw (`coder: random`), or the search alone (no coder asked).
ChoiceSource = Literal["model", "fallback", "random", "search"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- answers (model output) ------------------------------------------------------------

class PlanAnswer(_Strict):
    task: str | None = None
    metric: Literal["accuracy", "loss"] = "accuracy"
    direction: Literal["max", "min"] = "max"
    target: float | None = None
    max_params: int | None = Field(None, gt=0)
    max_flops: int | None = Field(None, gt=0)
    max_latency_ms: float | None = Field(None, gt=0)
    minutes: float | None = Field(None, gt=0)
    max_evals: int | None = Field(None, gt=0)
    strategy: Literal["agentic", "evolution", "random"] = "agentic"
    seed_archs: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @field_validator("target")
    @classmethod
    def _fraction(cls, value: float | None) -> float | None:
        if value is not None and 1.0 < value <= 100.0:
            return value / 100.0  # models often answer 96 for 96%
        if value is not None and not 0.0 < value <= 1.0:
            raise ValueError("target must be an accuracy fraction in (0, 1]")
        return value


class DirectionAnswer(_Strict):
    favour_kinds: list[str] = Field(default_factory=list)
    avoid_kinds: list[str] = Field(default_factory=list)
    favour_ops: list[str] = Field(default_factory=list)
    text: str = Field(min_length=1)

    @field_validator("favour_kinds", "avoid_kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in MOVE_KINDS]
        if unknown:
            raise ValueError(f"unknown edit kinds {unknown}; use {', '.join(MOVE_KINDS)}")
        return kinds


class CoderAnswer(_Strict):
    choice: str = Field(pattern=r"^E\d+$")
    params: dict[str, Any] = Field(default_factory=dict)
    rationale: str = ""


class ModuleAnswer(_Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    code: str = Field(min_length=20)
    rationale: str = ""


class FidelityAnswer(_Strict):
    screen_out: bool = False
    fidelity: float = Field(gt=0, le=1)
    promote: bool = False
    reason: str = ""


class AnalysisAnswer(_Strict):
    text: str = Field(min_length=1)
    insights: list[str] = Field(default_factory=list, max_length=4)
    verdict: Literal["improved", "worse", "neutral", "failed"] = "neutral"


class SummaryAnswer(_Strict):
    insights: list[str] = Field(max_length=12)


# ---- context the agents read -------------------------------------------------------------

class Evidence(BaseModel):
    """One past experiment as the coder sees it."""

    kind: str | None = None
    edit: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    parent_val_accuracy: float | None = None
    child_val_accuracy: float | None = None
    status: str = "ok"

    @classmethod
    def from_memory(cls, item: dict[str, Any]) -> "Evidence":
        """Read a knowledge-store row (`Memory.similar`) or a hand-made dict."""
        edit = str(item.get("edit") or "")
        first = edit.split(" ", 1)[0] if edit else ""
        kind = item.get("kind") or item.get("edit_kind") or (first if first in MOVE_KINDS else None)
        child = item.get("child_val_accuracy", item.get("val_accuracy"))
        return cls(
            kind=kind, edit=edit, params=dict(item.get("params_used") or item.get("edit_params") or {}),
            parent_val_accuracy=item.get("parent_val_accuracy"), child_val_accuracy=child,
            status=str(item.get("status") or "ok"),
        )


class EditStat(BaseModel):
    tried: int = 0
    improved: int = 0
    mean_delta: float = 0.0


class SearchSummary(BaseModel):
    """What the planner reads to set a direction: results per edit kind so far."""

    generation: int = 0
    evaluated: int = 0
    failed: int = 0
    best_val_accuracy: float | None = None
    best_params: int | None = None
    edit_stats: dict[str, EditStat] = Field(default_factory=dict)
    # The kinds the search offers: the plain ones by default; trees add the macro moves.
    kinds_available: list[str] = Field(default_factory=lambda: list(EDIT_KINDS))

    @classmethod
    def from_evidence(cls, rows: list[Evidence], generation: int = 0, **extra: Any) -> "SearchSummary":
        """Aggregate (kind, parent val, child val) rows into per-kind statistics."""
        stats: dict[str, list[float]] = {}
        for row in rows:
            if row.kind and row.child_val_accuracy is not None and row.parent_val_accuracy is not None:
                stats.setdefault(row.kind, []).append(row.child_val_accuracy - row.parent_val_accuracy)
        ok = [r.child_val_accuracy for r in rows if r.child_val_accuracy is not None]
        return cls(
            generation=generation, evaluated=len(rows), failed=sum(r.status != "ok" for r in rows),
            best_val_accuracy=max(ok) if ok else None,
            edit_stats={k: EditStat(tried=len(d), improved=sum(x > 0 for x in d), mean_delta=round(sum(d) / len(d), 5))
                        for k, d in sorted(stats.items())},
            **extra,
        )

    @classmethod
    def from_campaign_summary(cls, summary: dict[str, Any]) -> "SearchSummary":
        """Best effort from the campaign's compact summary dict (goal, evaluated, best, recent)."""
        if "edit_stats" in summary:
            return cls.model_validate({k: v for k, v in summary.items() if k in cls.model_fields})
        recent = [Evidence.from_memory(row) for row in summary.get("recent") or []]
        for before, after in zip(recent, recent[1:]):  # no parent values given: compare in order
            after.parent_val_accuracy = after.parent_val_accuracy or before.child_val_accuracy
        best = summary.get("best") or {}
        built = cls.from_evidence(recent)
        return built.model_copy(update={
            "evaluated": int(summary.get("evaluated") or built.evaluated),
            "failed": int(summary.get("failed") or built.failed),
            "best_val_accuracy": best.get("val_accuracy", built.best_val_accuracy),
            "best_params": best.get("params"),
        })


# ---- decisions (what the campaign receives) -----------------------------------------------

class Direction(BaseModel):
    favour_kinds: list[str] = Field(default_factory=list)
    avoid_kinds: list[str] = Field(default_factory=list)
    favour_ops: list[str] = Field(default_factory=list)
    text: str = ""
    source: Source = "model"

    def __str__(self) -> str:
        return self.text


class CoderChoice(BaseModel):
    """A filled, legal edit from the menu (or the caller's fallback)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    edit: Any  # archlab.tools.Edit, filled
    source: ChoiceSource
    rationale: str = ""
    menu_id: str | None = None  # "E3" when the model chose it


class ModuleProposal(BaseModel):
    """New module code from the coder: only a string; the sandbox checks and mines it."""

    name: str
    code: str
    rationale: str = ""
    source: Source = "model"


class FidelityContext(BaseModel):
    """What the evaluator reads for one candidate."""

    exp_id: str = ""
    params: int | None = None
    proxy_rank: float | None = Field(None, ge=0, le=1)  # percentile of its proxy score, 0 = worst
    parent_val_accuracy: float | None = None
    best_val_accuracy: float | None = None
    budget_used: float = Field(0.0, ge=0)  # fraction of the campaign budget spent
    fidelities: list[float] = Field(default_factory=lambda: [0.25, 1.0])
    short_val_accuracy: float | None = None  # set when deciding a promotion


class FidelityDecision(BaseModel):
    screen_out: bool = False
    fidelity: float = 1.0
    promote: bool = False
    reason: str = ""
    source: Source = "model"


class Analysis(BaseModel):
    text: str
    insights: list[str] = Field(default_factory=list)
    verdict: Literal["improved", "worse", "neutral", "failed"] = "neutral"
    source: Source = "model"
