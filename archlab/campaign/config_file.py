"""The `--config FILE` YAML of `archlab run`: the same keys as the flags.

Kept out of cli.py so scripts can build the same settings from the same files.
Every value is checked against `RunOptions` (one field per key, each saying what
it expects), so a bad value is one line naming the key and the expected type,
e.g. `config file c.yaml: max_evals: expected a positive integer (a budget), got 'lots'`,
before the planner or the settings ever see it.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from archlab.campaign.errors import UsageError
from archlab.campaign.settings import CampaignSettings
from archlab.errors import one_line


def _not_bool(value: Any) -> Any:
    """YAML's `yes`/`true` is not a number (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
Number = Annotated[float, BeforeValidator(_not_bool)]
BUDGET = "a positive {} (a budget)"


class RunOptions(BaseModel):
    """Every key of `archlab run` (flag or config file), typed; `description` is what the error line says."""

    model_config = ConfigDict(extra="forbid")

    task: str | None = Field(None, description="text: mnist1d, npz:PATH or table:PATH")
    out: str | Path | None = Field(None, description="a folder path")
    strategy: Literal["agentic", "evolution", "random"] | None = Field(
        None, description="one of agentic, evolution, random")
    model: str | None = Field(None, description="text: mock or a litellm model string")
    api_base: str | None = Field(None, description="a URL as text")
    budget_minutes: Number | None = Field(None, gt=0, description=BUDGET.format("number of minutes"))
    max_evals: Int | None = Field(None, gt=0, description=BUDGET.format("integer"))
    max_params: Int | None = Field(None, gt=0, description="a positive integer")
    workers: Int | None = Field(None, ge=1, description="an integer >= 1")
    executor: Literal["local", "ray"] | None = Field(None, description="one of local, ray")
    ray_address: str | None = Field(None, description="text: a Ray address")
    memory: str | Path | None = Field(None, description="a folder path")
    chroma_url: str | None = Field(None, description="a URL as text")
    seed: Int | None = Field(None, ge=0, description="an integer >= 0")
    seed_arch: str | list[str] | None = Field(None, description="a seed architecture name or a list of them")
    unsafe_sandbox: bool | None = Field(None, description="true or false")
    structured: Literal["auto", "on", "off"] | None = Field(None, description="one of auto, on, off")
    allow_fallback: bool | None = Field(None, description="true or false")
    memory_wait: Number | None = Field(None, ge=0, description="a number of seconds >= 0")
    # config-file-only keys: finer knobs that do not deserve a flag
    max_flops: Int | None = Field(None, gt=0, description="a positive integer")
    max_latency_ms: Number | None = Field(None, gt=0, description="a positive number of milliseconds")
    max_tokens: Int | None = Field(None, gt=0, description=BUDGET.format("integer"))
    max_cost_usd: Number | None = Field(None, gt=0, description=BUDGET.format("number of dollars"))
    recipe: dict[str, Any] | None = Field(None, description="a mapping, e.g. {steps: 2000}")
    embedder: Literal["minilm", "hashing"] | None = Field(None, description="one of minilm, hashing")
    lightweight: bool | None = Field(None, description="true or false")
    eval_time_s: Number | None = Field(None, gt=0, description="a positive number of seconds")
    report_every_s: Number | None = Field(None, gt=0, description="a positive number of seconds")
    unreachable_after: Int | None = Field(None, ge=1, description="an integer >= 1")
    # model (default) or random: a seeded uniform menu pick instead of the coder's, to measure the model
    coder: Literal["model", "random"] | None = Field(None, description="one of model, random")


RUN_KEYS = frozenset(RunOptions.model_fields)


def read_config(path: Path | None) -> dict[str, Any]:
    """A YAML file with the same keys as the flags (dashes or underscores), each value checked."""
    if path is None:
        return {}
    if not path.is_file():
        raise UsageError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"config file {path} is not valid YAML: {one_line(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must be a mapping of keys to values (key: value lines), "
                         f"not a {_yaml_kind(data)}")
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(set(data) - RUN_KEYS)
    if unknown:
        hints = [f"{key} (did you mean {close[0]}?)" if close else key
                 for key in unknown for close in [difflib.get_close_matches(key, RUN_KEYS, n=1)]]
        raise UsageError(f"config file {path}: unknown key(s) {', '.join(hints)}; "
                         f"known: {', '.join(sorted(RUN_KEYS))}")
    return check_options(data, f"config file {path}: ")


def check_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """The command line's values (Typer checked their types; this checks their ranges)."""
    return check_options(flags, "", flag=True)


def check_options(values: dict[str, Any], where: str, *, flag: bool = False) -> dict[str, Any]:
    """Validate against `RunOptions`; the first bad value is one line naming its key and what it expects."""
    try:
        RunOptions.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = str(error["loc"][0]) if error["loc"] else "?"
        field = RunOptions.model_fields.get(key)
        expected = field.description if field is not None else error["msg"]
        name = "--" + key.replace("_", "-") if flag else key
        raise UsageError(f"{where}{name}: expected {expected}, got {_shown(error.get('input'))}") from None
    return values


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _yaml_kind(data: Any) -> str:
    return {list: "list", str: "single text value"}.get(type(data), type(data).__name__)


def merge_options(flags: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Explicit flags win over the config file; unset flags are None."""
    merged = dict(config)
    merged.update({k: v for k, v in flags.items() if v is not None})
    return merged


def settings_from(options: dict[str, Any]) -> CampaignSettings:
    fields = {
        "workers": options.get("workers"), "executor": options.get("executor"),
        "ray_address": options.get("ray_address"), "memory_dir": options.get("memory"),
        "chroma_url": options.get("chroma_url"), "api_base": options.get("api_base"),
        "recipe_overrides": options.get("recipe"), "embedder": options.get("embedder"),
        "lightweight": options.get("lightweight"), "eval_time_s": options.get("eval_time_s"),
        "report_every_s": options.get("report_every_s"), "unsafe_sandbox": options.get("unsafe_sandbox"),
        "structured": options.get("structured"), "allow_fallback": options.get("allow_fallback"),
        "memory_wait_s": options.get("memory_wait"), "unreachable_after": options.get("unreachable_after"),
        "coder": options.get("coder"),
    }
    try:
        return CampaignSettings(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"]) or "settings"
        raise UsageError(f"bad setting {where}: {error['msg']}, got {_shown(error.get('input'))}") from None
