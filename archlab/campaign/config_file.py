"""The `--config FILE` YAML of `archlab run`: the same keys as the flags.

Kept out of cli.py so scripts can build the same settings from the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from archlab.campaign.errors import UsageError
from archlab.campaign.settings import CampaignSettings
from archlab.errors import one_line

RUN_KEYS = {"task", "out", "strategy", "model", "api_base", "budget_minutes", "max_evals", "max_params",
            "workers", "executor", "ray_address", "memory", "chroma_url", "seed", "seed_arch", "unsafe_sandbox",
            # config-file-only keys: finer knobs that do not deserve a flag
            "max_flops", "max_latency_ms", "max_tokens", "max_cost_usd", "recipe", "embedder",
            "lightweight", "eval_time_s", "report_every_s",
            "coder"}  # coder: model (default) or random (a seeded uniform menu pick, to measure the model)


def read_config(path: Path | None) -> dict[str, Any]:
    """A YAML file with the same keys as the flags (dashes or underscores)."""
    if path is None:
        return {}
    if not path.is_file():
        raise UsageError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"config file {path} is not valid YAML: {one_line(exc)}") from None
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must be a mapping of keys to values")
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(set(data) - RUN_KEYS)
    if unknown:
        raise UsageError(f"config file {path}: unknown key(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(RUN_KEYS))}")
    return data


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
        "coder": options.get("coder"),
    }
    try:
        return CampaignSettings(**{k: v for k, v in fields.items() if v is not None})
    except ValueError as exc:
        raise UsageError(f"bad setting: {one_line(exc)}") from None
