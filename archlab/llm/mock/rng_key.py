"""What the mock model's random draws are keyed on: the prompt's content, not its wording.

The mock seeds its generator from (seed, a text). For most tasks that text is the
conversation itself. The coder's prompt changed layout (the menu appears once, as
compact lines, instead of as lines and a JSON block); keying on the new text would
have changed every mock choice, and with them the recorded campaigns and benchmark
figures that compare strategies. So the coder's key is its request rendered in the
first (v1) layout, from frozen copies of those templates (prompts_v1/), rebuilt from
the content the current prompt carries: the same request gives the same key, hence
the same choice, whichever layout it came in. A prompt that still holds the v1 MENU
JSON block is its own key, as before.

The PRINCIPLES section (design priors quoted from the knowledge room's library) is left
out of every key: it is library text, not the request, so adding it to a prompt changed
no draw of the mock (what it reads from the section weighs its choice, principles.py).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from archlab.llm.mock.blocks import json_block, task_marker
from archlab.llm.mock.menu_lines import parse_menu
from archlab.llm.mock.principles import section_span

_PARENT = re.compile(r"^PARENT \(PyTorch\):\n```python\n(.*?)\n```$", re.MULTILINE | re.DOTALL)
_CONSTRAINTS = "Constraints: "
_DECODER = json.JSONDecoder()


def _json(value: Any) -> str:
    # The same rendering as archlab.prompts' `json` filter (llm/ may not import prompts/).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _json_lines(values: list[Any]) -> str:
    return "[\n" + ",\n".join(_json(v) for v in values) + "\n]" if values else "[]"


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "prompts_v1"),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=False, autoescape=False, auto_reload=False)
    env.filters["json"] = _json
    env.filters["json_lines"] = _json_lines
    return env


def _render(name: str, **context: Any) -> str:
    return _templates().get_template(name).render(**context).strip() + "\n"


# ---- the v1 menu line: Edit.describe() as it read then -------------------------------------

def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "op" in value:
        return str(value["op"])
    return str(value)


def _domain_text(domain: Any) -> str:
    if isinstance(domain, list):
        return "{" + ",".join(_short(v) for v in domain) + "}"
    return f"[{_short(domain.get('low'))}..{_short(domain.get('high'))}]"


def describe(entry: dict) -> str:
    """One menu entry as the v1 prompt listed it (`insert root.0 conv padding=same kernel in {3,5}`)."""
    kind, path, fixed, free = entry["kind"], entry["path"], entry["fixed"], entry["free"]
    what = fixed.get("op") or ""
    if kind == "set_param":
        param = fixed.get("param", "")
        head = f"set_param {path} {what}.{param}"
        if not free:
            return f"{head}={_short(fixed.get(param))}"
        return f"{head} in {_domain_text(free.get(param))}"
    shown = {k: v for k, v in fixed.items() if k not in ("op", "subtrees") and not isinstance(v, (dict, list))}
    parts = [kind, path] + ([str(what)] if what else [])
    parts += [f"{k}={_short(v)}" for k, v in shown.items()]
    parts += [f"{k} in {_domain_text(d)}" for k, d in free.items()]
    return " ".join(parts)


# ---- the key --------------------------------------------------------------------------------

def _constraints(prompt: str) -> dict:
    at = prompt.find(_CONSTRAINTS)
    if at < 0:
        return {}
    value, _ = _DECODER.raw_decode(prompt, at + len(_CONSTRAINTS))
    return value if isinstance(value, dict) else {}


def coder_prompt_v1(prompt: str) -> str:
    """The coder request in `prompt` (the current layout) rendered as the v1 user message."""
    parent = _PARENT.search(prompt)
    menu = parse_menu(prompt)
    return _render(
        "coder_choose.j2", task="coder", parent_source=parent.group(1) if parent else "",
        direction=json_block(prompt, "DIRECTION", {}), evidence=json_block(prompt, "EVIDENCE", []),
        constraints=_constraints(prompt), menu=menu,
        menu_lines=[f"{entry['id']}: {describe(entry)}" for entry in menu],
    )


def as_v1(messages: list[dict]) -> list[dict]:
    """The conversation with a current-layout coder request rendered as the v1 prompt was
    (system and user message); any other conversation unchanged."""
    contents = [str(m.get("content") or "") for m in messages]
    at = next((i for i, text in enumerate(contents) if task_marker(text)), None)
    if at is None or task_marker(contents[at]) != "coder" or json_block(contents[at], "MENU") is not None:
        return list(messages)
    system = [{"role": "system", "content": _system_v1()}] if at > 0 else []
    return system + [{"role": "user", "content": coder_prompt_v1(contents[at])}] + list(messages[at + 1 :])


@lru_cache(maxsize=1)
def _system_v1() -> str:
    """The v1 system message (rendered once: it depends on nothing)."""
    return _render("system.j2")


def _without_principles(text: str) -> str:
    span = section_span(text)
    return text if span is None else text[: span[0]] + text[span[1]:]


def key_text(messages: list[dict]) -> str:
    """The text the mock's generator is seeded from for this conversation."""
    return "\n".join(_without_principles(str(m.get("content") or "")) for m in as_v1(messages))
