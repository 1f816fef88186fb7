"""Jinja2 templates for every agent prompt, one per agent task.

Imports nothing from archlab. `messages(task, **context)` renders the shared
system message and the task's user message; machine-readable parts of a prompt
are labelled JSON blocks (see archlab.llm.mock.blocks), so a real model and the
mock read the same content.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent

TASKS = {
    # task marker -> template file
    "planner": "planner_plan.j2",
    "planner-direction": "planner_direction.j2",
    "coder": "coder_choose.j2",
    "coder-module": "coder_module.j2",
    "evaluator-fidelity": "evaluator_fidelity.j2",
    "analyst": "analyst_analyze.j2",
    "analyst-summary": "analyst_summarize.j2",
}


def _json(value: Any) -> str:
    """Compact, key-sorted JSON (Jinja's own `tojson` HTML-escapes '<' and '&')."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _json_lines(values: list[Any]) -> str:
    """A JSON list with one item per line: compact yet readable."""
    if not values:
        return "[]"
    return "[\n" + ",\n".join(_json(v) for v in values) + "\n]"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,  # a missing context value is a bug, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
        auto_reload=False,  # templates ship with the package: no stat of the file at every render
    )
    env.filters["json"] = _json
    env.filters["json_lines"] = _json_lines
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context).strip() + "\n"


@cache
def _system(task: str) -> str:
    """The system message of a task (rendered once per task: it depends on nothing else)."""
    return render("system.j2", task=task)


def messages(task: str, **context: Any) -> list[dict[str, str]]:
    """System + user messages for one agent task."""
    if task not in TASKS:
        raise KeyError(f"no prompt template for task {task!r}; known: {', '.join(sorted(TASKS))}")
    return [
        {"role": "system", "content": _system(task)},
        {"role": "user", "content": render(TASKS[task], task=task, **context)},
    ]


def reask(error: str) -> str:
    """The follow-up message after an invalid answer, quoting the validation error."""
    return render("reask.j2", error=error)
