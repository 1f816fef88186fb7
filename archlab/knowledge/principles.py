"""The seed library of design principles, read from principles.yaml.

The library is data, not code: edit the YAML to add a principle. The memory
embeds it into its `principles` collection so agents can retrieve the ones
relevant to a goal.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from archlab.knowledge.errors import KnowledgeError


class Principle(BaseModel):
    """One design principle: why it helps, when, and which edits realise it."""

    name: str
    title: str
    rationale: str
    goals: list[str]
    edits: list[str]  # "KIND (what it does)", KIND a tools menu kind (plain or macro), preferred first
    applies_to: list[Literal["vector", "seq", "image", "tokens"]] = Field(default_factory=list)  # empty: any input

    def document(self) -> str:
        """The text that is embedded for retrieval."""
        return f"{self.title}. {self.rationale} Useful for: {', '.join(self.goals)}."


# libyaml's safe loader where PyYAML was built with it: the pure-Python one took 0.18 s of every
# campaign's start (the library is read each time a memory opens); both read the same data.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _library_text(path: Path | None) -> str:
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    return resources.files("archlab.knowledge").joinpath("principles.yaml").read_text(encoding="utf-8")


def load_principles(path: Path | None = None) -> tuple[list[Principle], str]:
    """The principles and a fingerprint of the library (to re-embed when it changes)."""
    text = _library_text(path)
    try:
        entries = yaml.load(text, Loader=_SAFE_LOADER)
        principles = [Principle.model_validate(entry) for entry in entries]
    except (yaml.YAMLError, ValidationError, TypeError) as error:
        raise KnowledgeError(f"principles library {path or 'principles.yaml'} is invalid: {str(error).splitlines()[0]}") from None
    names = [principle.name for principle in principles]
    if len(set(names)) != len(names):
        raise KnowledgeError("principles library has duplicate names")
    fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    return principles, fingerprint
