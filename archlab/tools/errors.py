"""Exceptions of the tools room: each `str()` is one line naming what is wrong.

Callers (the backbone, the coder agent, the CLI) show these messages to people
and to the language model, so they never carry a multi-line traceback.
"""

from __future__ import annotations


def one_line(text: object) -> str:
    """Collapse any message to a single line (newlines become '; ')."""
    parts = [p.strip() for p in str(text).splitlines() if p.strip()]
    return "; ".join(parts) if parts else "unknown error"


class _OneLineError(ValueError):
    def __init__(self, message: object) -> None:
        super().__init__(one_line(message))


class ArchError(_OneLineError):
    """A tree is malformed, names an unknown op, or cannot be built."""


class EditError(_OneLineError):
    """An edit is not on the legal menu, is unfilled, or a value is out of its domain."""

    @classmethod
    def failed(cls, kind: str, path: str, error: Exception) -> EditError:
        """An edit whose transformation raised, worded alike wherever it is applied."""
        return cls(f"{kind} at {path} failed: {error}")


class MiningError(_OneLineError):
    """A Python file or module could not be mined into leaf ops."""


class ShapeError(_OneLineError):
    """A shape rule refused its input (internal; surfaces as a validate() message)."""
