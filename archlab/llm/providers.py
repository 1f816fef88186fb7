"""The only module that imports litellm: real-provider calls and model checks.

litellm fetches a remote cost map at import unless told to use its bundled copy,
so the environment variable is set before the import (nothing may reach the
network at import time). litellm's own retries are switched off: the client
retries itself so that every retry is counted.
"""

from __future__ import annotations

import json
import os
import re
import socket

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx  # noqa: E402  (litellm's transport: its errors name the real cause)
import litellm  # noqa: E402  (must follow the environment setting above)
from pydantic import BaseModel  # noqa: E402

from archlab.errors import one_line  # noqa: E402
from archlab.llm.errors import ModelConfigError, TransportError  # noqa: E402

litellm.suppress_debug_info = True

# Placeholder for OpenAI-compatible local servers (vLLM, llama.cpp, the mock server)
# that need no key but whose client library insists on one.
NO_KEY = "sk-archlab-no-key"


class Reply(BaseModel):
    """One successful completion."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    finish_reason: str | None = None


def check_model(model: str, api_base: str | None = None) -> None:
    """Raise `ModelConfigError` (one line) if `model` cannot work; make no call."""
    if model == "mock":
        return
    try:
        _, provider, _, _ = litellm.get_llm_provider(model, api_base=api_base)
    except Exception:  # litellm raises its BadRequestError with a multi-line text
        raise ModelConfigError(
            f"unknown model {model!r}: use a provider-prefixed litellm model string"
            " (e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, ollama/llama3) or 'mock'"
        ) from None
    if api_base:
        return  # a self-hosted endpoint: keys are optional and defaults apply
    env = litellm.validate_environment(model=model)
    missing = [key for key in env.get("missing_keys", []) if not key.endswith("_API_BASE")]
    if missing:
        raise ModelConfigError(
            f"model {model!r} ({provider}) needs {', '.join(missing)} in the environment;"
            " set it, pass --api-base for a self-hosted server, or use --model mock"
        )


def count_tokens(messages: list[dict], model: str = "gpt-4o-mini") -> int:
    """Prompt tokens as the provider's tokenizer counts them (bundled, offline)."""
    return int(litellm.token_counter(model=model, messages=messages))


# Self-hosted servers that constrain decoding to a JSON schema whatever model they serve;
# litellm's model map cannot know their models, so `supports_schema` trusts the server kind.
SCHEMA_SERVERS = frozenset({"hosted_vllm", "vllm", "ollama", "ollama_chat", "lm_studio", "llamafile"})


def supports_schema(model: str, api_base: str | None = None) -> bool:
    """Whether `model` takes a JSON-schema `response_format` (the client's `structured="auto"`).

    Yes when litellm's model map says so, for the self-hosted server kinds above, and for
    any `--api-base` endpoint (vLLM, Ollama, llama.cpp, LM Studio and SGLang all speak it;
    one that refuses with HTTP 400 makes the client fall back to free text for the session).
    """
    try:
        _, provider, _, _ = litellm.get_llm_provider(model, api_base=api_base)
    except Exception:  # an unknown model: check_model says why; here it just gets free text
        return False
    if api_base or provider in SCHEMA_SERVERS:
        return True
    try:
        return bool(litellm.supports_response_schema(model=model, custom_llm_provider=provider))
    except Exception:  # not in the bundled map
        return False


def _chain(error: BaseException) -> list[BaseException]:
    """The error and everything it was raised from (litellm wraps the cause several times)."""
    out: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _connect_reason(chain: list[BaseException]) -> str | None:
    """What stopped the connection, in words, if that is what failed (else None)."""
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return f"unknown host ({item.strerror or item})"
        if isinstance(item, httpx.ConnectTimeout):
            return "connect timeout"
    if any(isinstance(item, httpx.ConnectError) for item in chain):
        return f"cannot connect ({one_line(chain[-1], 160)})"  # e.g. no route to host
    return None


_PREFIX = re.compile(r"^(?:litellm\.)?\w+: (?:\w+: )?(?:\w+Exception - )?")


def _message(error: BaseException) -> str:
    """The provider's own words, without litellm's class-name prefixes."""
    return _PREFIX.sub("", one_line(error, 300))[:200]


def classify(error: BaseException) -> TransportError:
    """One failed attempt as a TransportError of a fault kind (see errors.FAULT_KINDS).

    litellm reports a refused connection as InternalServerError("Connection error."), so
    the kind is read from the whole chain of causes, connection failures first.
    """
    chain = _chain(error)
    status = getattr(error, "status_code", None)
    status = status if isinstance(status, int) else None
    reason = _connect_reason(chain)
    if reason is not None:
        return TransportError(f"connect: {reason}", retryable=True, kind="connect")
    if isinstance(error, (litellm.AuthenticationError, litellm.PermissionDeniedError)) or status in (401, 403):
        return TransportError(f"auth: HTTP {status or 401}: {_message(error)}", retryable=False, kind="auth",
                              status=status)
    if isinstance(error, litellm.RateLimitError) or status == 429:
        return TransportError("rate_limit: HTTP 429", retryable=True, kind="rate_limit", status=status)
    if isinstance(error, litellm.Timeout) or any(isinstance(c, (httpx.TimeoutException, TimeoutError)) for c in chain):
        return TransportError("timeout: no answer within the time limit", retryable=True, kind="timeout")
    if any(isinstance(c, json.JSONDecodeError) for c in chain):
        return TransportError("malformed: the reply is not JSON", retryable=True,
                              kind="malformed", status=status)
    if isinstance(error, (litellm.BadRequestError, litellm.NotFoundError)) or status in (400, 404, 413, 422):
        return TransportError(f"bad_request: HTTP {status or 400}: {_message(error)}", retryable=False,
                              kind="bad_request", status=status)
    if isinstance(error, (litellm.InternalServerError, litellm.ServiceUnavailableError)) or (status or 0) >= 500:
        return TransportError(f"server: HTTP {status or 500}: {_message(error)}", retryable=True, kind="server",
                              status=status)
    if isinstance(error, litellm.APIError):
        # A body that is not a completion surfaces here; it is transient on a real server.
        return TransportError(f"malformed: {_message(error)}", retryable=True, kind="malformed", status=status)
    return TransportError(f"other: {type(error).__name__}: {_message(error)}", retryable=False, kind="other",
                          status=status)


def complete(
    model: str,
    messages: list[dict],
    *,
    api_base: str | None,
    api_key: str | None,
    timeout_s: float,
    seed: int,
    response_format: dict | None = None,
    max_tokens: int | None = None,
) -> Reply:
    """One attempt through litellm; raise `TransportError` (of a fault kind) on any failure."""
    key = api_key or (NO_KEY if api_base else None)
    extra = {"response_format": response_format} if response_format is not None else {}
    if max_tokens is not None:
        extra["max_tokens"] = max_tokens
    try:
        response = litellm.completion(
            model=model,
            messages=messages,
            api_base=api_base,
            api_key=key,
            timeout=timeout_s,
            seed=seed,
            temperature=0,
            drop_params=True,  # providers without `seed`/`temperature` ignore them instead of failing
            num_retries=0,
            max_retries=0,
            **extra,
        )
        choice = response.choices[0]
        text = choice.message.content or ""
    except Exception as error:  # litellm maps provider errors to its own classes
        raise classify(error) from None
    usage = getattr(response, "usage", None)
    prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0) or count_tokens(messages)
    completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
    try:
        cost = float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # unknown models (local servers) have no price: count tokens only
        cost = 0.0
    return Reply(
        text=text,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost,
        finish_reason=getattr(choice, "finish_reason", None),
    )
