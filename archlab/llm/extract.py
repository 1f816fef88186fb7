"""Turn a model's text into a validated pydantic value, or a one-line reason why not.

Models wrap JSON in prose or code fences, so we look for the first JSON object in
the text with the standard library's decoder (`raw_decode`) rather than a
hand-written parser, then let pydantic do all the checking.
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n\s*```", re.DOTALL)


class AnswerInvalid(ValueError):
    """The answer text is not valid for its schema; `str()` is one line for the re-ask."""


def find_json_object(text: str) -> dict:
    """Return the first JSON object in `text` (whole text, then fenced blocks, then any '{')."""
    candidates = [text.strip()] + [m.group(1) for m in _FENCE.finditer(text)]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise AnswerInvalid("the answer holds no JSON object")


def one_line_validation_error(error: ValidationError, limit: int = 3) -> str:
    """Summarise pydantic's errors as `field: message; field: message`."""
    parts = []
    for item in error.errors()[:limit]:
        where = ".".join(str(p) for p in item["loc"]) or "answer"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def parse_answer(text: str, schema: type[T]) -> T:
    """Extract and validate; raise `AnswerInvalid` with a one-line reason."""
    obj = find_json_object(text)
    try:
        return schema.model_validate(obj)
    except ValidationError as error:
        raise AnswerInvalid(one_line_validation_error(error)) from None
