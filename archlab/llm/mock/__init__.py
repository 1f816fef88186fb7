"""The mock model: local, deterministic, and answering from the prompt's own content.

`reply(messages, seed)` recognises the agent task by the prompt's marker line
(`archlab-task: coder`, ...) and returns the JSON text a careful model would.
The random generator is seeded from (seed, hash of the request's content, see
rng_key.py), so the same request always gets the same answer, in process or over
HTTP, with no global state. Token counts use a simple word-piece tokenizer (no download, no litellm
import), calibrated to within about 5% of a BPE count on archlab prompts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
from collections.abc import Callable

from archlab.llm.mock import direction, fidelity, findings, goal, menu_choice, modules
from archlab.llm.mock.blocks import task_marker
from archlab.llm.mock.rng_key import key_text

MOCK_MODEL = "mock"

_HANDLERS: dict[str, Callable[[str, random.Random], dict]] = {
    "planner": goal.plan,
    "planner-direction": direction.direction,
    "coder": menu_choice.answer,
    "coder-module": modules.write_module,
    "evaluator-fidelity": fidelity.fidelity,
    "analyst": findings.analyze,
    "analyst-summary": findings.summarize,
}

_PIECE = re.compile(r"\w{1,7}|[^\w\s]{1,3}")


def prompt_text(messages: list[dict]) -> str:
    return "\n".join(str(m.get("content") or "") for m in messages)


def count_tokens(text: str) -> int:
    """Approximate BPE tokens: word pieces of up to 7 characters, punctuation runs of up to 3.

    Calibrated on archlab prompts: within about 5% of litellm's gpt-4o-mini count. No piece
    spans a line break (a newline is whitespace), so the count is the sum over lines, and
    lines repeat from prompt to prompt (system text, menus): each distinct line is counted once.
    """
    return sum(_line_tokens(line) for line in text.split("\n"))


@functools.lru_cache(maxsize=65536)
def _line_tokens(line: str) -> int:
    return len(_PIECE.findall(line))


def seeded_rng(seed: int, text: str) -> random.Random:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return random.Random(f"{seed}:{digest}")


def reply(messages: list[dict], seed: int = 0) -> str:
    """The mock model's answer text for a chat request.

    A structured request (a `response_format` JSON schema, checked by the caller as a
    provider would) gets this same text: the mock's answers already take the shape the
    agents' schemas describe, so structured and free-text runs decide alike.
    """
    text = prompt_text(messages)
    task = task_marker(text)
    handler = _HANDLERS.get(task or "")
    if handler is None:
        return json.dumps({"error": f"mock model: no archlab-task marker it knows (got {task!r})"})
    return json.dumps(handler(text, seeded_rng(seed, key_text(messages))), sort_keys=True)


def known_tasks() -> list[str]:
    return sorted(_HANDLERS)
