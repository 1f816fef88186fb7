"""Cassettes: every model exchange of a campaign, one JSON line each.

An exchange is one request after transport retries: its messages, the text that
came back (or the failure that ended it) and its usage. Replay answers from the
file with no model at all, so a replayed campaign makes the same decisions and
the same accounting. Lookups are keyed by (agent, step, hash of the messages);
repeated identical requests are answered in the order they were recorded. The
`response_format` a request carried is recorded with it but is not part of the
key: cassettes recorded before structured answers replay unchanged, and a replay
gives the recorded answer whether or not the replaying client would ask for one.
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
from collections import defaultdict, deque
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from archlab.llm.errors import FAULT_KINDS, CassetteMiss


def messages_hash(messages: list[dict]) -> str:
    """Canonical hash of a request (key order and whitespace do not matter)."""
    canonical = json.dumps(messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Exchange(BaseModel):
    """One recorded request and what came of it."""

    agent: str
    step: str
    key: str
    messages: list[dict]
    response: str | None = None  # None when every attempt failed
    error: str = ""  # the last transport failure when response is None
    attempts: int = 1
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    response_format: dict | None = None  # the JSON schema the request asked for (None: free text)
    meta: dict = Field(default_factory=dict)  # transport_errors (one line each) and their fault kinds


# Fault kinds of cassettes recorded before `meta["faults"]`, read from the error's prefix.
_OLD_KINDS = {"connection": "connect", "bad_body": "malformed"}


def exchange_faults(exchange: Exchange) -> list[str]:
    """The fault kind of each failed attempt of an exchange (see errors.FAULT_KINDS)."""
    if "faults" in exchange.meta:
        return [str(kind) for kind in exchange.meta["faults"]]
    kinds = []
    for error in exchange.meta.get("transport_errors", []):
        prefix = str(error).split(":", 1)[0].strip()
        kinds.append(_OLD_KINDS.get(prefix, prefix if prefix in FAULT_KINDS else "other"))
    return kinds


class Cassette:
    """Append-only JSONL file of exchanges with FIFO lookup for replay or resume."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, str, str], deque[Exchange]] = defaultdict(deque)
        self.loaded = 0
        self._folder_made = False
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    exchange = Exchange.model_validate_json(line)
                except ValidationError:
                    # A line cut short by kill -9 is the only expected cause: skip it, say so.
                    warnings.warn(f"cassette {self.path}: skipping unreadable line {number}", stacklevel=2)
                    continue
                self._queues[(exchange.agent, exchange.step, exchange.key)].append(exchange)
                self.loaded += 1

    def take(self, agent: str, step: str, messages: list[dict]) -> Exchange | None:
        """Pop the next recorded exchange for this request, or None."""
        if not self._queues:  # nothing recorded (a new campaign): no request to hash
            return None
        key = (agent, step, messages_hash(messages))
        with self._lock:
            queue = self._queues.get(key)
            return queue.popleft() if queue else None

    def take_or_raise(self, agent: str, step: str, messages: list[dict]) -> Exchange:
        exchange = self.take(agent, step, messages)
        if exchange is None:
            raise CassetteMiss(
                f"cassette {self.path.name} has no recorded answer for agent {agent!r} at step {step!r}"
                f" (request {messages_hash(messages)[:12]})"
            )
        return exchange

    def append(self, exchange: Exchange) -> None:
        """Write one exchange; flushed at once so a killed campaign keeps what it paid for."""
        line = exchange.model_dump_json() + "\n"
        with self._lock:
            if not self._folder_made:  # once: a mkdir per exchange cost more than the write
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._folder_made = True
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
