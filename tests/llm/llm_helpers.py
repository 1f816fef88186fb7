"""Helpers for the model-layer tests: a scripted client and a tiny schema."""

from __future__ import annotations

import os

from pydantic import BaseModel

from archlab.llm import LLMClient

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class Pick(BaseModel):
    choice: str
    score: int


class ScriptedClient(LLMClient):
    """A client whose model answers from a script (texts, or TransportError to raise)."""

    def __init__(self, script: list, **kwargs) -> None:
        super().__init__("mock", **kwargs)
        self.script = list(script)
        self.seen: list[list[dict]] = []

    def _call(self, messages, response_format=None, max_tokens=None):
        self.seen.append(messages)
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item, 10, 5, 0.001

