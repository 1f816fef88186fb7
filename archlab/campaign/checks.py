"""Everything that can be wrong with a request is found before a folder exists.

Each check raises `UsageError` with one line naming what is wrong, so the CLI
can print it, exit 2, and leave nothing half-made on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from archlab import tools
from archlab.campaign.errors import CampaignError, UsageError
from archlab.campaign.settings import CampaignSettings
from archlab.errors import one_line
from archlab.records import Budget, CampaignSpec, Constraints
from archlab.tools import Arch

if TYPE_CHECKING:
    from archlab.sandbox import Task


def plan_spec(goal: str, overrides: dict[str, Any], settings: CampaignSettings) -> CampaignSpec:
    """Turn a goal (and the person's explicit flags, which win) into a spec with the planner.

    The planner applies the overrides, once; a bad value is one line (exit 2). A model that
    cannot be reached is one line too (`CampaignError`, exit 1), before anything is created."""
    from archlab.agents import Planner
    from archlab.campaign.collaborators import client_options
    from archlab.llm import LLMClient, ModelUnreachable

    if not goal or not goal.strip():
        raise UsageError("the goal is empty: say what to find, e.g. \"a small accurate model for MNIST-1D\"")
    model = str(overrides.get("model") or "mock")
    check_model(model, settings.api_base)
    client = LLMClient(model=model, api_base=settings.api_base, mode="live", seed=int(overrides.get("seed") or 0),
                       **client_options(settings))
    try:
        return Planner(client).plan(goal, overrides)
    except ModelUnreachable as exc:
        raise CampaignError(str(exc)) from None
    except Exception as exc:  # PlanError and friends: one line, nothing created
        raise UsageError(one_line(exc) or type(exc).__name__) from None


def check_model(model: str, api_base: str | None) -> None:
    from archlab.llm import check_model as llm_check_model

    try:
        llm_check_model(model, api_base)
    except Exception as exc:
        raise UsageError(one_line(exc)) from None


def check_budget(budget: Budget) -> None:
    limits = {"max evaluations": budget.max_evals, "minutes": budget.minutes,
              "max tokens": budget.max_tokens, "max cost (USD)": budget.max_cost_usd}
    for name, value in limits.items():
        if value is not None and value <= 0:
            raise UsageError(f"the budget's {name} is {value:g}: nothing could run; give a positive budget")
    if budget.max_evals is None and budget.minutes is None:
        raise UsageError("no budget: give a number of evaluations (--max-evals) or minutes (--budget-minutes)")


def check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(f"{out_dir} already exists: choose another --out, or `archlab resume {out_dir}`")


def check_spec(spec: CampaignSpec, settings: CampaignSettings, out_dir: Path) -> Task:
    """All checks of a spec before its folder is made (task data, constraints, model); returns
    the task, loaded once here for the whole run."""
    check_out_dir(out_dir)
    check_budget(spec.budget)
    check_model(spec.model, settings.api_base)
    task = load_checked_task(spec.task, settings)
    check_seeds(spec, task)
    check_constraints_possible(spec.constraints, spec.seed_archs, task)
    check_recipe(task, settings.recipe_overrides)
    return task


def load_checked_task(name: str, settings: CampaignSettings) -> Task:
    from archlab.sandbox import load_task

    try:
        return load_task(name, settings.resolved_cache_dir())
    except Exception as exc:
        raise UsageError(one_line(exc)) from None


def check_seeds(spec: CampaignSpec, task: Task | None = None) -> None:
    """Every seed is known and fits the task: a lookup table answers only for the cells of its space."""
    for name in spec.seed_archs:
        try:
            arch = tools.seeds.by_name(name)
        except Exception as exc:
            raise UsageError(f"unknown seed architecture {name!r}: {one_line(exc)}") from None
        if task is None:
            continue
        if task.kind == "lookup" and tools.cell_space(arch) is None:
            hints = " or ".join(space.seed_hint for space in tools.cell_spaces())
            raise UsageError(f"seed architecture {name!r} is not a cell of the table {spec.task}: "
                             f"use --seed-arch {hints}")
        problems = tools.validate(arch, tuple(task.input_shape))
        if problems:
            raise UsageError(f"seed architecture {name!r} does not fit the task's input "
                             f"{tuple(task.input_shape)}: {problems[0]}")


def check_recipe(task: Task, overrides: dict[str, Any]) -> None:
    if overrides:
        try:
            task.recipe.with_overrides(overrides)
        except Exception as exc:
            raise UsageError(one_line(exc)) from None


def check_constraints_possible(constraints: Constraints, seed_archs: list[str], task: Task) -> None:
    """Refuse limits no model can meet: below the bare classifier head, or below every seed."""
    if task.kind != "train":
        return
    for name, value in (("max params", constraints.max_params), ("max FLOPs", constraints.max_flops),
                        ("max latency (ms)", constraints.max_latency_ms)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} is {value:g}: no model can meet it")
    smallest = head_only_size(tuple(task.input_shape), task.num_classes)
    seed_sizes = {name: _size(tools.seeds.by_name(name), task) for name in seed_archs}
    for key, label in (("params", "max params"), ("flops", "max FLOPs")):
        limit = constraints.max_params if key == "params" else constraints.max_flops
        if limit is None:
            continue
        if limit < smallest[key]:
            raise UsageError(f"{label} {limit:,} is below any possible model: the classifier head alone "
                             f"has {smallest[key]:,} on input {tuple(task.input_shape)}")
        sizes = {name: s[key] for name, s in seed_sizes.items() if s is not None}
        if sizes and all(limit < v for v in sizes.values()):
            listed = ", ".join(f"{n} {v:,}" for n, v in sizes.items())
            raise UsageError(f"{label} {limit:,} is below every seed architecture ({listed}): "
                             f"raise it or choose smaller seeds")


def head_only_size(input_shape: tuple[int, ...], num_classes: int) -> dict[str, int]:
    """The smallest model there is: an empty tree, i.e. flatten + the Linear head."""
    features = 1
    for dim in input_shape:
        features *= int(dim)
    return {"params": features * num_classes + num_classes, "flops": 2 * features * num_classes}


def _size(arch: Arch, task: Task) -> dict[str, int] | None:
    """Params and FLOPs of a tree on the task, or None when it cannot be built."""
    try:
        module = tools.build(arch, tuple(task.input_shape), task.num_classes)
        return {"params": int(tools.count_params(module)),
                "flops": int(tools.count_flops(module, tuple(task.input_shape)))}
    except Exception:
        return None
