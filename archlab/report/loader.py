"""Read a campaign folder into typed, read-only views for the report.

The report is refreshed while the campaign runs, so this loader must tolerate a
half-written folder: a missing spec, an experiment folder without its
record.json yet (still in flight), a missing optional field. A lightweight campaign's
records are lines of `experiments/records.jsonl` instead (knowledge/record_log.py). A record that
cannot be parsed is skipped with a warning naming the file, never guessed at.

The knowledge room owns `ExperimentRecord`; the report reads record.json as a
plain dict through `ExperimentView` (extra fields ignored, optional fields
defaulted) so that it keeps working while that record grows.
"""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from archlab.errors import one_line
from archlab.knowledge import Decision
from archlab.knowledge.record_log import log_path, read_log
from archlab.records import AgentUsage, CampaignSpec, Result


T = TypeVar("T")


class ReportError(ValueError):
    """The folder cannot be reported on; `str()` is one line naming the problem."""


class ReportWarning(UserWarning):
    """Something in the folder was skipped (a corrupt record, a bad usage file)."""


def _as_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class ExperimentView(BaseModel):
    """One experiment as the report sees it: record.json plus its model.py."""

    model_config = ConfigDict(extra="ignore")

    id: str
    campaign: str = ""
    generation: int = 0
    parent_ids: list[str] = Field(default_factory=list)
    edit: dict[str, Any] | None = None
    arch: dict[str, Any] | None = None
    arch_hash: str = ""
    code_path: str = ""
    result: Result
    analysis: str = ""
    insights: list[str] = Field(default_factory=list)
    strategy: str = ""
    decision: Decision | None = None  # why this candidate (records written before decisions have none)
    created_at: datetime | None = None
    finished_at: datetime | None = None
    code: str = ""  # model.py text, read by the loader

    @field_validator("analysis", "arch_hash", "code_path", "strategy", "campaign", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("parent_ids", "insights", mode="before")
    @classmethod
    def _none_is_empty_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("decision", mode="before")
    @classmethod
    def _unreadable_decision_is_none(cls, value: Any) -> Any:
        # A decision is explanation, not data: one the reader cannot parse is left out, not fatal.
        try:
            return None if value is None else Decision.model_validate(value)
        except ValidationError:
            return None

    @field_validator("result", mode="before")
    @classmethod
    def _drop_unknown_result_fields(cls, value: Any) -> Any:
        # Result forbids extra keys; a newer writer may add some. Keep the known ones.
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k in Result.model_fields}
        return value

    @field_validator("created_at", "finished_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @property
    def ok(self) -> bool:
        return self.result.ok and self.result.val_accuracy is not None

    @property
    def parent_id(self) -> str | None:
        return self.parent_ids[0] if self.parent_ids else None

    @property
    def edit_text(self) -> str:
        """One line saying what changed from the parent (or that this is a seed)."""
        return describe_edit(self.edit, seed=not self.parent_ids)


def describe_edit(edit: dict[str, Any] | None, *, seed: bool) -> str:
    """A one-line description of an edit dict (tools.Edit JSON) for tables.

    Mirrors `archlab.tools.Edit.describe` on plain JSON, so the report needs
    neither torch nor a record that still validates against today's Edit model.
    Subtrees and other nested values are left out: they belong to the diff.
    """
    if not edit:
        return "seed" if seed else "(edit not recorded)"
    if edit.get("description"):
        return str(edit["description"])
    fixed = edit.get("fixed") or {}
    kind, path = edit.get("kind", "edit"), edit.get("path", "")
    what = fixed.get("op") or fixed.get("template") or ""
    if kind == "set_param" and fixed.get("param"):
        param = fixed["param"]
        return f"set_param {path} {what}.{param}={_short_value(fixed.get(param))}"
    shown = [f"{k}={_short_value(v)}" for k, v in fixed.items()
             if k not in ("op", "template", "subtree", "node") and not isinstance(v, (dict, list))]
    return " ".join(str(part) for part in [kind, path, what, *shown] if part)


def _short_value(value: Any) -> str:
    if isinstance(value, dict) and "op" in value:
        return str(value["op"])
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class CampaignView(BaseModel):
    """Everything the report needs from one campaign folder."""

    path: Path
    spec: CampaignSpec | None = None
    experiments: list[ExperimentView] = Field(default_factory=list)  # in id order
    in_flight: list[str] = Field(default_factory=list)  # folders without a record yet
    skipped: list[str] = Field(default_factory=list)  # "file: reason" for corrupt records
    insights: list[str] = Field(default_factory=list)
    usage: dict[str, AgentUsage] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)
    modules: list[dict[str, Any]] = Field(default_factory=list)  # modules/modules.json: coder-written modules

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def strategy(self) -> str:
        if self.spec is not None:
            return self.spec.strategy
        found = {e.strategy for e in self.experiments if e.strategy}
        return found.pop() if len(found) == 1 else "unknown"

    @property
    def by_id(self) -> dict[str, ExperimentView]:
        return {e.id: e for e in self.experiments}

    @property
    def usage_total(self) -> AgentUsage:
        total = AgentUsage()
        for agent in self.usage.values():
            total = total + agent
        return total


def _warn_skip(view: CampaignView, path: Path, reason: str) -> None:
    view.skipped.append(f"{path}: {reason}")
    warnings.warn(f"skipping {path}: {reason}", ReportWarning, stacklevel=3)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _load_experiment(folder: Path, view: CampaignView) -> ExperimentView | None:
    record_path = folder / "record.json"
    try:
        raw = _read_json(record_path)
        if not isinstance(raw, dict):
            raise ValueError("record is not a JSON object")
        raw.setdefault("id", folder.name)
        if raw.get("arch") is None and (folder / "arch.json").is_file():
            raw["arch"] = _read_json(folder / "arch.json")
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        _warn_skip(view, record_path, one_line(exc, 300))
        return None
    experiment = _experiment_view(raw, record_path, view)
    if experiment is None:
        return None
    code_file = folder / "model.py"
    if code_file.is_file():
        experiment.code = code_file.read_text(encoding="utf-8", errors="replace")
    return experiment


def _experiment_view(raw: dict[str, Any], where: Path, view: CampaignView) -> ExperimentView | None:
    try:
        return ExperimentView.model_validate(raw)
    except ValidationError as exc:
        _warn_skip(view, where, one_line(exc, 300))
        return None


def _logged_experiments(path: Path, view: CampaignView) -> dict[str, ExperimentView]:
    """A lightweight campaign's experiments, from its records log (no model.py: rendered on demand)."""
    found = {}
    for raw in read_log(log_path(path)):
        experiment = _experiment_view(raw, log_path(path), view)
        if experiment is not None:
            found[experiment.id] = experiment
    return found


def _parse_usage(raw: Any) -> dict[str, AgentUsage]:
    """Per-agent usage from llm/usage.json, whichever of the plausible shapes it has."""
    if not isinstance(raw, dict):
        raise ValueError("usage is not a JSON object")
    for key in ("agents", "per_agent", "by_agent"):
        if isinstance(raw.get(key), dict):
            raw = raw[key]
            break
    return {
        agent: AgentUsage.model_validate(numbers)
        for agent, numbers in raw.items()
        if isinstance(numbers, dict) and agent not in ("total", "totals")
    }


def _parse_insights(raw: Any) -> list[str]:
    if isinstance(raw, dict):
        raw = raw.get("insights", [])
    if not isinstance(raw, list):
        raise ValueError("insights is not a list")
    texts = [item.get("text", "") if isinstance(item, dict) else str(item) for item in raw]
    return [t for t in texts if t]


def _parse_modules(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(row, dict) for row in raw):
        raise ValueError("modules.json is not a list of objects")
    return raw


def _load_optional(view: CampaignView, path: Path, parse: Callable[[Any], T], default: T) -> T:
    if not path.is_file():
        return default
    try:
        return parse(_read_json(path))
    except (OSError, ValueError, ValidationError) as exc:
        _warn_skip(view, path, one_line(exc, 300))
        return default


def is_campaign_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "spec.json").is_file() or (path / "experiments").is_dir())


def load_campaign(campaign_dir: str | Path) -> CampaignView:
    """Read a (possibly half-written) campaign folder; raise ReportError if it is not one."""
    path = Path(campaign_dir).resolve()
    if not path.is_dir():
        raise ReportError(f"campaign folder not found: {path}")
    if not is_campaign_dir(path):
        raise ReportError(f"not a campaign folder (no spec.json or experiments/): {path}")
    view = CampaignView(path=path)
    view.spec = _load_optional(view, path / "spec.json", CampaignSpec.model_validate, None)
    experiments_dir = path / "experiments"
    folders = sorted((p for p in experiments_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: (len(p.name), p.name)) if experiments_dir.is_dir() else []  # e9999 < e10000
    found = _logged_experiments(path, view)
    for folder in folders:
        if not (folder / "record.json").is_file():
            view.in_flight.append(folder.name)
            continue
        experiment = _load_experiment(folder, view)
        if experiment is not None:
            found[experiment.id] = experiment
    view.experiments = sorted(found.values(), key=lambda e: (len(e.id), e.id))  # e9999 < e10000
    view.insights = _load_optional(view, path / "insights.json", _parse_insights, [])
    view.usage = _load_optional(view, path / "llm" / "usage.json", _parse_usage, {})
    view.state = _load_optional(view, path / "state.json", lambda raw: raw if isinstance(raw, dict) else {}, {})
    view.modules = _load_optional(view, path / "modules" / "modules.json", _parse_modules, [])
    return view
