"""Text helpers every room may import (like archlab.records): one-line error messages."""

from __future__ import annotations


def one_line(message: object, limit: int = 500) -> str:
    """`message` as a single line of at most `limit` characters (whitespace collapsed)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
