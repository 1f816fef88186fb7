"""Exceptions of the model layer; each `str()` is one line naming what is wrong."""

from __future__ import annotations

from archlab.errors import one_line


class LLMError(Exception):
    """Base class for model-layer errors that a caller may want to catch together."""


class ModelConfigError(LLMError):
    """The model string or its credentials cannot work (detected before any call)."""


class SpendExceeded(LLMError):
    """The campaign's token or dollar cap is reached: no new model call is made."""


class CassetteMiss(LLMError):
    """Replay asked for an exchange that the cassette does not hold."""


# What can go wrong with one model request, counted separately in the usage ledger:
# connect (nothing listening, unknown host), auth (HTTP 401/403), timeout, rate_limit (429),
# server (5xx), malformed (a reply that is not a completion), invalid (an answer that fails
# its schema or the agent's check), bad_request (400/404/422: the request itself is refused),
# other (anything else).
FAULT_KINDS = ("connect", "auth", "timeout", "rate_limit", "server", "malformed", "invalid", "bad_request", "other")
UNREACHABLE_KINDS = frozenset({"connect", "auth"})  # the endpoint, not this request, is the problem


class TransportError(LLMError):
    """One attempt to reach the model failed; `retryable` says whether to try again.

    `kind` is one of FAULT_KINDS (never "invalid": that is the answer's fault, not the
    transport's); `status` is the HTTP status when one came back."""

    def __init__(self, message: str, *, retryable: bool, kind: str, status: int | None = None) -> None:
        super().__init__(one_line(message))
        self.retryable = retryable
        self.kind = kind
        self.status = status


class ModelUnreachable(LLMError):
    """The first requests of a session all failed to connect or authenticate: there is no model.

    Raised instead of falling back (unless the client was made with `allow_fallback=True`),
    so a campaign with a dead endpoint stops with this one line instead of running on the
    backbone's choices alone."""

    def __init__(self, message: str, *, endpoint: str, kind: str, attempts: int) -> None:
        super().__init__(one_line(message))
        self.endpoint = endpoint
        self.kind = kind
        self.attempts = attempts
        self.partial: object = None  # the client's exchange in progress, so its attempts are still counted
