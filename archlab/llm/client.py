"""`LLMClient`: every agent's way to a model, with retries, re-asks, cassettes and accounting.

One `ask` is: check the spend cap; send the messages (transport failures are
retried with exponential backoff and jitter); extract and validate the JSON
answer against the agent's pydantic schema (plus the agent's own check, e.g. "is
this a legal menu entry"); if it is invalid, ask once more quoting the error;
if that fails too, report `fallback_used` so the agent applies the backbone's
deterministic choice. Every attempt, retry, re-ask and fallback is counted.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

from archlab.errors import one_line
from archlab.llm import mock
from archlab.llm.accounting import CallUsage, SpendCap, UsageLedger, UsageReport
from archlab.llm.cassette import Cassette, Exchange, messages_hash
from archlab.llm.errors import TransportError
from archlab.llm.extract import AnswerInvalid, parse_answer

T = TypeVar("T", bound=BaseModel)
Mode = Literal["live", "record", "replay"]


@dataclass
class Answer(Generic[T]):
    """The outcome of one `ask`: a validated value, or `fallback_used` with the reasons."""

    value: T | None
    fallback_used: bool
    usage: CallUsage
    text: str = ""  # the last raw answer text (empty when none arrived)
    errors: list[str] = field(default_factory=list)


def check_model(model: str, api_base: str | None = None) -> None:
    """One clear line (`ModelConfigError`) if the model string or its key cannot work."""
    if model == mock.MOCK_MODEL:
        return
    from archlab.llm import providers  # imported lazily: litellm is slow to import

    providers.check_model(model, api_base)


class LLMClient:
    """Thread-safe model client shared by the agents of one campaign."""

    def __init__(
        self,
        model: str = "mock",
        api_base: str | None = None,
        cassette_path: str | Path | None = None,
        mode: Mode = "live",
        cap: SpendCap | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        seed: int = 0,
        *,
        api_key: str | None = None,
        backoff_s: float = 0.5,
        max_backoff_s: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if mode not in ("live", "record", "replay"):
            raise ValueError(f"mode must be live, record or replay, got {mode!r}")
        if mode != "live" and cassette_path is None:
            raise ValueError(f"mode {mode!r} needs a cassette_path")
        if mode == "replay" and not Path(cassette_path).exists():
            raise FileNotFoundError(f"cassette not found: {cassette_path}")
        if mode != "replay":
            check_model(model, api_base)
        self.model = model
        self.api_base = api_base
        self.mode: Mode = mode
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.seed = seed
        self._api_key = api_key
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._jitter = random.Random(seed)  # timing only; never affects a decision
        self._jitter_lock = threading.Lock()
        self.cassette = Cassette(cassette_path) if cassette_path is not None else None
        self.ledger = UsageLedger(model, cap)

    # -- accounting ---------------------------------------------------------------
    @property
    def usage(self) -> UsageReport:
        return self.ledger.snapshot()

    def save_usage(self, path: str | Path) -> None:
        """Write `llm/usage.json` atomically (temp file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".usage-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.usage.model_dump_json(indent=2))
        os.replace(tmp, path)

    def load_usage(self, path: str | Path) -> None:
        """Carry earlier totals over (resume), so caps count the whole campaign."""
        self.ledger.restore(UsageReport.model_validate_json(Path(path).read_text(encoding="utf-8")))

    # -- the one entry point -------------------------------------------------------
    def ask(
        self,
        agent: str,
        step: str,
        messages: list[dict],
        schema: type[T],
        *,
        check: Callable[[T], None] | None = None,
        reask: Callable[[str], str] | None = None,
    ) -> Answer[T]:
        """Ask for one structured answer; never raises for a bad model, only `SpendExceeded`/`CassetteMiss`.

        `check` may raise ValueError to refuse a well-formed answer (counted as rejected);
        `reask(error)` renders the follow-up message quoting the error (from prompts/).
        """
        self.ledger.check_cap(agent, step)
        usage = CallUsage()
        conversation = list(messages)
        rejected = 0
        text = ""
        rounds = 2 if reask is not None else 1
        for round_number in range(rounds):
            reply = self._exchange(agent, step, conversation, usage)
            if reply is None:
                break
            text = reply
            try:
                value = parse_answer(text, schema)
                if check is not None:
                    check(value)
            except (AnswerInvalid, ValueError) as error:
                rejected += 1
                reason = one_line(error)
                usage.errors.append(f"invalid answer: {reason}")
                if round_number + 1 < rounds:
                    usage.reasks += 1
                    conversation = conversation + [
                        {"role": "assistant", "content": text},
                        {"role": "user", "content": reask(reason)},
                    ]
                continue
            self._account(agent, usage, messages, fallback=False, rejected=rejected)
            return Answer(value=value, fallback_used=False, usage=usage, text=text, errors=list(usage.errors))
        self._account(agent, usage, messages, fallback=True, rejected=rejected)
        return Answer(value=None, fallback_used=True, usage=usage, text=text, errors=list(usage.errors))

    def _account(self, agent: str, usage: CallUsage, messages: list[dict], *, fallback: bool, rejected: int) -> None:
        self.ledger.add(agent, usage, fallback=fallback, rejected=rejected,
                        last_prompt=mock.count_tokens(mock.prompt_text(messages)))

    # -- one exchange: cassette or model, with transport retries -----------------------
    def _exchange(self, agent: str, step: str, messages: list[dict], usage: CallUsage) -> str | None:
        if self.cassette is not None and self.mode == "replay":
            return self._replayed(self.cassette.take_or_raise(agent, step, messages), usage)
        if self.cassette is not None and self.mode == "record":
            earlier = self.cassette.take(agent, step, messages)  # resume: reuse what was paid for
            if earlier is not None:
                return self._replayed(earlier, usage)
        exchange = self._live(agent, step, messages)
        if self.cassette is not None:
            self.cassette.append(exchange)
        return self._replayed(exchange, usage)

    @staticmethod
    def _replayed(exchange: Exchange, usage: CallUsage) -> str | None:
        usage.attempts += exchange.attempts
        usage.retries += exchange.retries
        usage.prompt_tokens += exchange.prompt_tokens
        usage.completion_tokens += exchange.completion_tokens
        usage.cost_usd += exchange.cost_usd
        usage.errors.extend(f"transport: {e}" for e in exchange.meta.get("transport_errors", []))
        if exchange.response is None:
            usage.errors.append(f"no answer: {exchange.error}")
        return exchange.response

    def _live(self, agent: str, step: str, messages: list[dict]) -> Exchange:
        exchange = Exchange(agent=agent, step=step, key=messages_hash(messages), messages=messages,
                            attempts=0, model=self.model)
        errors = []
        for attempt in range(self.max_retries + 1):
            exchange.attempts += 1
            try:
                text, prompt_tokens, completion_tokens, cost = self._call(messages)
            except TransportError as error:
                errors.append(str(error))
                if error.retryable and attempt < self.max_retries:
                    exchange.retries += 1
                    self._sleep(self._backoff(attempt))
                    continue
                exchange.error = str(error)
                break
            exchange.response = text
            exchange.prompt_tokens, exchange.completion_tokens, exchange.cost_usd = prompt_tokens, completion_tokens, cost
            break
        exchange.meta = {"transport_errors": errors} if errors else {}
        return exchange

    def _backoff(self, attempt: int) -> float:
        with self._jitter_lock:
            jitter = 0.5 + self._jitter.random()
        return min(self._max_backoff_s, self._backoff_s * (2**attempt) * jitter)

    def _call(self, messages: list[dict]) -> tuple[str, int, int, float]:
        if self.model == mock.MOCK_MODEL:
            try:
                text = mock.reply(messages, seed=self.seed)
            except Exception as error:  # a mock bug must cost a fallback, not the campaign
                raise TransportError(f"mock model failed: {type(error).__name__}: {error}",
                                     retryable=False, kind="other") from None
            return text, mock.count_tokens(mock.prompt_text(messages)), mock.count_tokens(text), 0.0
        from archlab.llm import providers

        reply = providers.complete(self.model, messages, api_base=self.api_base, api_key=self._api_key,
                                   timeout_s=self.timeout_s, seed=self.seed)
        return reply.text, reply.prompt_tokens, reply.completion_tokens, reply.cost_usd


__all__ = ["Answer", "LLMClient", "check_model"]
