"""The only module that imports litellm: real-provider calls and model checks.

litellm fetches a remote cost map at import unless told to use its bundled copy,
so the environment variable is set before the import (nothing may reach the
network at import time). litellm's own retries are switched off: the client
retries itself so that every retry is counted.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402  (must follow the environment setting above)
from pydantic import BaseModel  # noqa: E402

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


_RETRYABLE = (
    (litellm.RateLimitError, "rate_limit"),
    (litellm.Timeout, "timeout"),
    (litellm.InternalServerError, "server"),
    (litellm.ServiceUnavailableError, "server"),
    (litellm.APIConnectionError, "connection"),
)


def _classify(error: Exception) -> TransportError:
    for kind_type, kind in _RETRYABLE:
        if isinstance(error, kind_type):
            return TransportError(f"{kind}: {type(error).__name__}", retryable=True, kind=kind)
    status = getattr(error, "status_code", None)
    first_line = (str(error).strip().splitlines() or [""])[0][:160]
    if isinstance(error, litellm.APIError) and (status is None or status >= 500):
        # A body that is not valid JSON surfaces here; it is transient on a real server.
        return TransportError(f"bad_body: {first_line}", retryable=True, kind="bad_body")
    return TransportError(f"{type(error).__name__}: {first_line}", retryable=False, kind="other")


def complete(
    model: str,
    messages: list[dict],
    *,
    api_base: str | None,
    api_key: str | None,
    timeout_s: float,
    seed: int,
) -> Reply:
    """One attempt through litellm; raise `TransportError` on any failure."""
    key = api_key or (NO_KEY if api_base else None)
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
        )
        choice = response.choices[0]
        text = choice.message.content or ""
    except Exception as error:  # litellm maps provider errors to its own classes
        raise _classify(error) from None
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
