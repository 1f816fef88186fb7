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

_MARKER = re.compile(r"^archlab-task:\s*([\w-]+)\s*$", re.MULTILINE)


def task_marker(prompt: str) -> str | None:
    """The agent task named by the prompt's marker line, or None."""
    match = _MARKER.search(prompt)
    return match.group(1) if match else None


def json_block(prompt: str, label: str, default=None):
    """The JSON value of the block labelled `label`, or `default` when absent or unreadable."""
    pattern = re.compile(rf"^{re.escape(label)}\b[^\n]*\n```json\n(.*?)\n```", re.MULTILINE | re.DOTALL)
    match = pattern.search(prompt)
    if not match:
        return default
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError:
        return default
