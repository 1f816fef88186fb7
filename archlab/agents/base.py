"""What every agent shares: render the task's prompt, ask the client, count, fall back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from archlab import prompts
from archlab.llm import Answer, LLMClient

T = TypeVar("T", bound=BaseModel)


class Agent:
    """Base of the four agents: one client (shared, thread-safe), one name for accounting."""

    name = "agent"

    def __init__(self, client: LLMClient) -> None:
        self.client = client

    def _ask(
        self,
        task: str,
        step: str,
        schema: type[T],
        context: dict[str, Any],
        check: Callable[[T], None] | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Answer[T]:
        """`json_schema` narrows the answer schema sent as `response_format` (default: `schema`'s own)."""
        messages = prompts.messages(task, **context)
        return self.client.ask(self.name, step, messages, schema, check=check, reask=prompts.reask,
                               json_schema=json_schema)


def fallback_reason(answer: Answer) -> str:
    """One line saying why the fallback was used (the last error seen)."""
    return answer.errors[-1] if answer.errors else "no answer"
