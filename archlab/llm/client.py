"""`LLMClient`: every agent's way to a model, with retries, re-asks, cassettes and accounting.

One `ask` is: check the spend cap; send the messages, with the answer's JSON
schema as `response_format` where the model supports structured answers
(`structured`: auto|on|off); transport failures are classified into fault kinds
and retried with exponential backoff and jitter; extract and validate the JSON
answer against the agent's pydantic schema (plus the agent's own check, e.g. "is
this a legal menu entry"); if it is invalid, ask once more quoting the error;
if that fails too, report `fallback_used` so the agent applies the backbone's
deterministic choice. Every attempt, retry, re-ask, fallback and fault is
counted. If the first requests of the session all fail to connect or
authenticate, `ModelUnreachable` is raised instead (see reachability.py).
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

from archlab.errors import one_line
from archlab.llm import mock
from archlab.llm.accounting import CallUsage, SpendCap, UsageLedger, UsageReport
from archlab.llm.cassette import Cassette, Exchange, exchange_faults, messages_hash
from archlab.llm.errors import ModelUnreachable, TransportError
from archlab.llm.extract import AnswerInvalid, parse_answer
from archlab.llm.reachability import EndpointWatch
from archlab.llm.mock.structured import fit
from archlab.llm.response_format import format_error, response_format, schema_in, schema_of

T = TypeVar("T", bound=BaseModel)
Mode = Literal["live", "record", "replay"]
Structured = Literal["auto", "on", "off"]
PROBE = [{"role": "user", "content": "ping"}]  # the smallest request a chat model answers


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
    """Thread-safe model client shared by the agents of one campaign.

    `structured`: "auto" sends each answer's JSON schema as `response_format` where the
    model takes one (the mock, litellm's model map, self-hosted servers, any `api_base`),
    "on" always, "off" never (free text, parsed and re-asked). A provider that refuses the
    schema with HTTP 400 gets free text for the rest of the session.
    `allow_fallback`: when False (the default), `ModelUnreachable` is raised if the first
    `unreachable_after` requests all failed to connect or authenticate; when True those
    calls fall back like any other failure, fast once the endpoint is known dead.
    """

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
        structured: Structured = "auto",
        allow_fallback: bool = False,
        unreachable_after: int = 3,
        connect_backoff_s: float = 0.25,
    ) -> None:
        if mode not in ("live", "record", "replay"):
            raise ValueError(f"mode must be live, record or replay, got {mode!r}")
        if structured not in ("auto", "on", "off"):
            raise ValueError(f"structured must be auto, on or off, got {structured!r}")
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
        self.structured: Structured = structured
        self.allow_fallback = allow_fallback
        self._api_key = api_key
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._connect_backoff_s = connect_backoff_s
        self._sleep = sleep
        self._jitter = random.Random(seed)  # timing only; never affects a decision
        self._jitter_lock = threading.Lock()
        self._schema_ok: bool | None = None  # resolved at the first ask (may import litellm)
        self.schema_refused: str | None = None  # why the provider refused structured answers, if it did
        self.watch = EndpointWatch(model, api_base, unreachable_after, allow_fallback)
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

    # -- structured answers -----------------------------------------------------------
    @property
    def structured_answers(self) -> bool:
        """Whether requests carry their answer's JSON schema now (see `structured`)."""
        if self.mode == "replay" or self.structured == "off" or self.schema_refused is not None:
            return False
        if self._schema_ok is None:
            if self.structured == "on" or self.model == mock.MOCK_MODEL:
                self._schema_ok = True
            else:
                from archlab.llm import providers

                self._schema_ok = providers.supports_schema(self.model, self.api_base)
        return self._schema_ok

    def _format_for(self, schema: type[BaseModel], json_schema: dict | None) -> dict | None:
        if not self.structured_answers:
            return None
        return response_format(schema.__name__, json_schema if json_schema is not None else schema_of(schema))

    def _refuse_schema(self, error: TransportError) -> None:
        if self.schema_refused is None:
            self.schema_refused = str(error)
            warnings.warn(f"model {self.model} refused structured answers ({error}); "
                          "asking for free-text JSON from now on", stacklevel=4)

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
        json_schema: dict | None = None,
    ) -> Answer[T]:
        """Ask for one structured answer; never raises for a bad model, only `SpendExceeded`,
        `CassetteMiss` and `ModelUnreachable` (a dead endpoint, unless `allow_fallback`).

        `check` may raise ValueError to refuse a well-formed answer (counted as rejected);
        `reask(error)` renders the follow-up message quoting the error (from prompts/);
        `json_schema` replaces the schema derived from `schema` in `response_format` (an
        agent that knows more, e.g. the coder's menu ids, narrows it).
        """
        self.ledger.check_cap(agent, step)
        usage = CallUsage()
        conversation = list(messages)
        rejected = 0
        text = ""
        rounds = 2 if reask is not None else 1
        wanted = self._format_for(schema, json_schema)
        for round_number in range(rounds):
            try:
                reply = self._exchange(agent, step, conversation, usage, wanted)
            except ModelUnreachable:
                self._account(agent, usage, messages, fallback=False, rejected=rejected, completed=False)
                raise
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
                usage.fault("invalid")
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

    def probe(self) -> bool:
        """Make sure the model answers before anything is spent on its behalf.

        One tiny request ("ping", one token back), retried while the endpoint is unproven;
        raises `ModelUnreachable` for a dead endpoint (unless `allow_fallback`, then returns
        False). Not recorded in the cassette; its tokens are counted under agent "probe".
        The mock and a replay need no model: True at once.
        """
        if self.model == mock.MOCK_MODEL or self.mode == "replay":
            return True
        usage = CallUsage()
        answered = False
        try:
            for _ in range(self.watch.limit):
                try:
                    exchange = self._live("probe", "probe", PROBE, None, max_tokens=1)
                except ModelUnreachable as dead:
                    self._replayed(dead.partial, usage)  # type: ignore[arg-type]
                    raise
                self._replayed(exchange, usage)
                answered = exchange.response is not None
                if answered or self.watch.proven or self.watch.dead:
                    break
        finally:
            self._account("probe", usage, PROBE, fallback=False, rejected=0)
        return answered or self.watch.proven

    def _account(self, agent: str, usage: CallUsage, messages: list[dict], *, fallback: bool, rejected: int,
                 completed: bool = True) -> None:
        self.ledger.add(agent, usage, fallback=fallback, rejected=rejected, completed=completed,
                        last_prompt=mock.count_tokens(mock.prompt_text(messages)))

    # -- one exchange: cassette or model, with transport retries -----------------------
    def _exchange(self, agent: str, step: str, messages: list[dict], usage: CallUsage,
                  wanted: dict | None) -> str | None:
        if self.cassette is not None and self.mode == "replay":
            return self._replayed(self.cassette.take_or_raise(agent, step, messages), usage)
        if self.cassette is not None and self.mode == "record":
            earlier = self.cassette.take(agent, step, messages)  # resume: reuse what was paid for
            if earlier is not None:
                return self._replayed(earlier, usage)
        try:
            exchange = self._live(agent, step, messages, wanted)
        except ModelUnreachable as dead:
            self._replayed(dead.partial, usage)  # type: ignore[arg-type]
            raise
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
        usage.structured += int(exchange.response_format is not None)
        for kind in exchange_faults(exchange):
            usage.fault(kind)
        usage.errors.extend(f"transport: {e}" for e in exchange.meta.get("transport_errors", []))
        if exchange.response is None:
            usage.errors.append(f"no answer: {exchange.error}")
        return exchange.response

    def _live(self, agent: str, step: str, messages: list[dict], wanted: dict | None,
              max_tokens: int | None = None) -> Exchange:
        """One exchange with the model: attempts until an answer, a final failure, or ModelUnreachable."""
        if self.schema_refused is not None:
            wanted = None  # refused earlier in this session (perhaps earlier in this very ask)
        exchange = Exchange(agent=agent, step=step, key=messages_hash(messages), messages=messages,
                            attempts=0, model=self.model, response_format=wanted)
        errors: list[str] = []
        faults: list[str] = []
        retries = 0  # of the backoff schedule (a refused schema or an unproven endpoint does not count)
        while True:
            exchange.attempts += 1
            try:
                text, prompt_tokens, completion_tokens, cost = self._call(messages, exchange.response_format,
                                                                          max_tokens)
            except TransportError as error:
                errors.append(str(error))
                faults.append(error.kind)
                exchange.meta = {"transport_errors": errors, "faults": faults}
                if exchange.response_format is not None and error.kind == "bad_request" and error.status in (400, 422):
                    self._refuse_schema(error)  # the provider does not take a schema: free text, at once
                    exchange.response_format = None
                    exchange.retries += 1
                    continue
                try:
                    self.watch.failed(error)  # raises ModelUnreachable for a dead endpoint
                except ModelUnreachable as dead:
                    exchange.error = str(error)
                    dead.partial = exchange
                    raise
                if self.watch.unproven_retry(error):
                    exchange.retries += 1
                    if error.kind == "connect":
                        self._sleep(self._backoff(exchange.attempts - 1, self._connect_backoff_s))
                    continue
                if error.retryable and retries < self.max_retries and not self.watch.dead:
                    exchange.retries += 1
                    self._sleep(self._backoff(retries, self._backoff_s))
                    retries += 1
                    continue
                exchange.error = str(error)
                break
            self.watch.answered()
            exchange.response = text
            exchange.prompt_tokens, exchange.completion_tokens, exchange.cost_usd = prompt_tokens, completion_tokens, cost
            break
        return exchange

    def _backoff(self, attempt: int, base: float) -> float:
        with self._jitter_lock:
            jitter = 0.5 + self._jitter.random()
        return min(self._max_backoff_s, base * (2**attempt) * jitter)

    def _call(self, messages: list[dict], response_format: dict | None = None,
              max_tokens: int | None = None) -> tuple[str, int, int, float]:
        if self.model == mock.MOCK_MODEL:
            problem = format_error(response_format)  # what a provider answers with HTTP 400
            if problem is not None:
                raise TransportError(f"bad_request: HTTP 400: {problem}", retryable=False, kind="bad_request",
                                     status=400)
            try:
                text = mock.reply(messages, seed=self.seed)
                schema = schema_in(response_format)
                text = text if schema is None else fit(text, schema)
            except Exception as error:  # a mock bug must cost a fallback, not the campaign
                raise TransportError(f"mock model failed: {type(error).__name__}: {error}",
                                     retryable=False, kind="other") from None
            return text, mock.count_tokens(mock.prompt_text(messages)), mock.count_tokens(text), 0.0
        from archlab.llm import providers

        reply = providers.complete(self.model, messages, api_base=self.api_base, api_key=self._api_key,
                                   timeout_s=self.timeout_s, seed=self.seed, response_format=response_format,
                                   max_tokens=max_tokens)
        return reply.text, reply.prompt_tokens, reply.completion_tokens, reply.cost_usd


__all__ = ["Answer", "LLMClient", "check_model"]
