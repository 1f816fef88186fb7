"""Read the machine-readable parts of an archlab prompt.

Prompts (archlab/prompts/*.j2) carry a marker line `archlab-task: NAME` and
labelled JSON blocks:

    MENU (anything after the label on this line is ignored):
    ```json
    [...]
    ```

A real model reads them as text; the mock model reads them with these helpers.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

_MARKER = re.compile(r"^archlab-task:\s*([\w-]+)\s*$", re.MULTILINE)


def task_marker(prompt: str) -> str | None:
    """The agent task named by the prompt's marker line, or None."""
    match = _MARKER.search(prompt)
    return match.group(1) if match else None


def json_block(prompt: str, label: str, default=None):
    """The JSON value of the block labelled `label`, or `default` when absent or unreadable."""
    text = _block_text(prompt, label)
    if text is None:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


def _block_text(prompt: str, label: str) -> str | None:
    """The text of the first block labelled `label` (a line starting with it, then a ```json
    fence). The label is found with `str.find` and the block matched only there: a regex
    search for it from the prompt's start cost more than the parse of what it found."""
    pattern = _block_pattern(label)
    at = prompt.find(label)
    while at >= 0:
        if at == 0 or prompt[at - 1] == "\n":
            match = pattern.match(prompt, at)
            if match:
                return match.group(1)
        at = prompt.find(label, at + 1)
    return None


@lru_cache(maxsize=64)
def _block_pattern(label: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(label)}\b[^\n]*\n```json\n(.*?)\n```", re.DOTALL)
