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


class TransportError(LLMError):
    """One attempt to reach the model failed; `retryable` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool, kind: str) -> None:
        super().__init__(one_line(message))
        self.retryable = retryable
        self.kind = kind  # "rate_limit" | "server" | "timeout" | "connection" | "bad_body" | "other"
