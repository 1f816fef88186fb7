"""Is anything answering? A session's watch over its endpoint until the first reply.

A dead endpoint used to cost every call its full retry schedule and end in a
"successful" campaign on fallbacks alone. The watch counts the requests that
failed to connect or authenticate before the endpoint ever answered (any HTTP
reply counts as an answer: a 429 or a 500 proves something is listening). When
the first `limit` requests all failed that way it raises `ModelUnreachable`
with one line naming the endpoint and the cause, unless the person allowed the
fallback; then it only marks the endpoint dead, so later calls fail fast
instead of sleeping through retries, until a reply arrives.
"""

from __future__ import annotations

import threading

from archlab.llm.errors import UNREACHABLE_KINDS, ModelUnreachable, TransportError

_WORDS = {"connect": "cannot connect", "auth": "authentication failed"}


class EndpointWatch:
    """Thread-safe: the agents of one campaign share it through their client."""

    def __init__(self, model: str, endpoint: str | None, limit: int = 3, allow_fallback: bool = False) -> None:
        if limit < 1:
            raise ValueError(f"unreachable_after must be at least 1, got {limit}")
        self.model = model
        self.endpoint = endpoint or "its provider's endpoint"
        self.limit = limit
        self.allow_fallback = allow_fallback
        self._lock = threading.Lock()
        self._reached = False
        self._failures = 0
        self._last: TransportError | None = None

    @property
    def proven(self) -> bool:
        """The endpoint answered at least once this session."""
        with self._lock:
            return self._reached

    @property
    def dead(self) -> bool:
        """Never answered and the first `limit` requests failed to connect or authenticate."""
        with self._lock:
            return not self._reached and self._failures >= self.limit

    def answered(self) -> None:
        with self._lock:
            self._reached = True

    def failed(self, error: TransportError) -> None:
        """Note one failed request; raise ModelUnreachable when it proves there is no model."""
        if error.kind not in UNREACHABLE_KINDS:
            self.answered()  # a timeout, a 429 or a 5xx: something is there
            return
        with self._lock:
            if self._reached:
                return
            self._failures += 1
            self._last = error
            failures = self._failures
        if failures >= self.limit and not self.allow_fallback:
            raise ModelUnreachable(self.message(), endpoint=self.endpoint, kind=error.kind, attempts=failures)

    def unproven_retry(self, error: TransportError) -> bool:
        """While nothing has answered, keep trying a connect or auth failure until the watch decides."""
        with self._lock:
            return error.kind in UNREACHABLE_KINDS and not self._reached and self._failures < self.limit

    def message(self) -> str:
        with self._lock:
            error, failures = self._last, self._failures
        if error is None:
            return f"cannot reach the model {self.model} at {self.endpoint}"
        cause = str(error).split(": ", 1)[-1]
        words = _WORDS.get(error.kind, error.kind)
        detail = cause if error.kind == "connect" else f"{words} ({cause})"
        return (f"cannot reach the model {self.model} at {self.endpoint}: {detail}; "
                f"{failures} request{'s' if failures != 1 else ''}, none answered")
