"""The mock model in Ollama's own dialect (`/api/chat`, `/api/generate`), for `--model ollama/...`.

litellm speaks Ollama's native API for `ollama/` (generate: one prompt string) and
`ollama_chat/` (chat: messages) models; vLLM and llama.cpp speak the OpenAI API the
mock server already serves. Structured answers arrive as `format` (a JSON schema,
or "json"), checked and honoured as on the OpenAI route. No fault injection here:
this route exists to prove the protocol, the OpenAI route carries the faults.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from archlab.llm import mock
from archlab.llm.mock.structured import fit
from archlab.llm.response_format import SchemaInvalid, check_schema

OLLAMA_ROUTES = ("/api/chat", "/api/generate")


def ollama_answer(route: str, raw: bytes, note: Callable[[str], None] = lambda what: None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for one non-streaming Ollama request; `note("structured")` per schema."""
    try:
        request = json.loads(raw)
        if route == "/api/chat":
            messages = list(request["messages"])
        else:
            system = [{"role": "system", "content": request["system"]}] if request.get("system") else []
            messages = system + [{"role": "user", "content": str(request["prompt"])}]
    except (ValueError, KeyError, TypeError):
        return 400, {"error": "body must be JSON with messages (chat) or a prompt (generate)"}
    if request.get("stream", True):
        return 400, {"error": "the mock answers only non-streaming requests (stream: false)"}
    schema = request.get("format")
    if isinstance(schema, dict):
        try:
            check_schema(schema)
        except SchemaInvalid as error:
            return 400, {"error": f"invalid format: {error}"}
    options = request.get("options") or {}
    content = mock.reply(messages, seed=int(options.get("seed") or 0))
    if isinstance(schema, dict):
        content = fit(content, schema)
        note("structured")
    body: dict[str, Any] = {
        "model": str(request.get("model") or "mock"), "created_at": "2026-01-01T00:00:00Z", "done": True,
        "done_reason": "stop", "prompt_eval_count": mock.count_tokens(mock.prompt_text(messages)),
        "eval_count": mock.count_tokens(content),
    }
    if route == "/api/chat":
        body["message"] = {"role": "assistant", "content": content}
    else:
        body["response"] = content
    return 200, body
