"""An OpenAI-compatible HTTP server for the mock model, with fault injection.

`archlab serve-mock --port P` calls `serve`; tests use `running_mock_server`,
which starts it on a free loopback port in a thread and stops it afterwards.
Only non-streaming `POST /v1/chat/completions` (and `GET /v1/models`) are served,
and Ollama's `POST /api/chat` and `/api/generate` (mock_ollama.py).
The standard library's threading HTTP server is enough for this and adds no
dependency; the server's answers are `archlab.llm.mock.reply`, the same text the
in-process mock gives, seeded by the request's `seed` field.

Faults are drawn per request from a seeded generator: HTTP 429, HTTP 500, a
delay past the client's timeout, a malformed JSON body, or a truncated answer;
`invalid` (not part of `uniform`) is a model that wraps its answer in an envelope
the schema does not allow, which a structured request (`response_format` with a
JSON schema, honoured here as vLLM or OpenAI do) cannot produce. A server started
with `api_key` answers HTTP 401 to any other key.
The `hostile` mode is not drawn: when on, every module-writing answer is an
attack on the sandbox (a shell command, file writes, a forged result, in
turn; see `mock/hostile.py`), which is how the sandbox is tested end to end.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pydantic import BaseModel, Field

from archlab.errors import one_line
from archlab.llm import mock
from archlab.llm.mock.blocks import task_marker
from archlab.llm.mock.hostile import HOSTILE_KINDS, hostile_module
from archlab.llm.mock.structured import fit
from archlab.llm.mock_ollama import OLLAMA_ROUTES, ollama_answer
from archlab.llm.response_format import format_error, schema_in, violations

FAULT_KINDS = ("rate_limit", "server_error", "delay", "malformed", "truncated")
ANSWER_FAULTS = ("invalid",)  # drawn after FAULT_KINDS; not in `uniform`, so its draws stay as they were


class FaultConfig(BaseModel):
    """Per-request probabilities of each fault (their sum must stay <= 1)."""

    rate_limit: float = Field(0.0, ge=0, le=1)  # HTTP 429
    server_error: float = Field(0.0, ge=0, le=1)  # HTTP 500
    delay: float = Field(0.0, ge=0, le=1)  # sleep `delay_s` before answering
    malformed: float = Field(0.0, ge=0, le=1)  # 200 with a body that is not JSON
    truncated: float = Field(0.0, ge=0, le=1)  # 200 with the answer cut in half
    invalid: float = Field(0.0, ge=0, le=1)  # 200 with the answer in an envelope (free text only)
    delay_s: float = Field(2.0, ge=0)
    seed: int = 0
    hostile: bool = False  # every module-writing answer attacks the sandbox (shell, write, forge, in turn)
    hostile_target: str = "/tmp"  # the host folder the hostile modules aim their writes at

    @classmethod
    def uniform(cls, total: float, *, delay_s: float = 2.0, seed: int = 0) -> "FaultConfig":
        """`total` of all requests fail, split evenly across the five kinds."""
        if not 0 <= total <= 1:
            raise ValueError(f"fault rate must be in [0, 1], got {total}")
        share = total / len(FAULT_KINDS)
        return cls(**{kind: share for kind in FAULT_KINDS}, delay_s=delay_s, seed=seed)

    def total(self) -> float:
        return sum(getattr(self, kind) for kind in FAULT_KINDS + ANSWER_FAULTS)


class _FaultDice:
    """Seeded, thread-safe draw of the fault for the next request."""

    def __init__(self, faults: FaultConfig) -> None:
        if faults.total() > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {faults.total():.2f} > 1")
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def hostile_answer(self, messages: list[dict]) -> str | None:
        """The next attack when the hostile mode is on and this is a module-writing request."""
        if not self.faults.hostile or task_marker(mock.prompt_text(messages)) != "coder-module":
            return None
        with self._lock:
            kind = HOSTILE_KINDS[self.counts["hostile"] % len(HOSTILE_KINDS)]
            self.counts["hostile"] += 1
        return json.dumps(hostile_module(kind, self.faults.hostile_target), sort_keys=True)

    def draw(self) -> str:
        with self._lock:
            roll = self._rng.random()
            edge = 0.0
            for kind in FAULT_KINDS + ANSWER_FAULTS:
                edge += getattr(self.faults, kind)
                if roll < edge:
                    self.counts[kind] += 1
                    return kind
            self.counts["ok"] += 1
            return "ok"


def _completion(model: str, content: str, messages: list[dict], finish: str) -> dict:
    prompt_tokens = mock.count_tokens(mock.prompt_text(messages))
    completion_tokens = mock.count_tokens(content)
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class _Served:
    """Counts of what the server saw besides faults: structured requests, refusals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1


def _refusal(headers, request: dict, api_key: str | None) -> tuple[int, str, str] | None:
    """Why a request is refused before any fault is drawn: a wrong key (401), a bad response_format (400)."""
    if api_key is not None and headers.get("Authorization", "") != f"Bearer {api_key}":
        return 401, "invalid api key (this mock server was started with one)", "authentication_error"
    problem = format_error(request.get("response_format"))
    return None if problem is None else (400, problem, "invalid_request_error")


def _answer(messages: list[dict], request: dict, fault: str, served: _Served) -> str:
    """The mock's answer text; a structured request gets JSON of its schema whatever the fault."""
    schema = schema_in(request.get("response_format"))
    content = mock.reply(messages, seed=int(request.get("seed") or 0))
    if schema is not None:
        content = fit(content, schema)
        served.add("structured")
        if violations(json.loads(content), schema):
            served.add("schema_violations")
        return content  # constrained decoding: the answer cannot leave the schema (no `invalid` fault)
    if fault == "invalid":
        return json.dumps({"answer": json.loads(content)})  # what a chatty model does unconstrained
    return content


def _make_handler(dice: _FaultDice, served: _Served, api_key: str | None = None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002  (stdlib signature)
            return  # quiet: tests and the CLI print their own summaries

        def _send(self, status: int, body: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout fault): nothing to do

        def _error(self, status: int, message: str, kind: str) -> None:
            self._send(status, json.dumps({"error": {"message": message, "type": kind}}).encode())

        def do_GET(self) -> None:  # noqa: N802  (stdlib naming)
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "mock", "object": "model"}]}).encode())
            else:
                self._error(404, f"no route {self.path}", "not_found")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") in OLLAMA_ROUTES:  # the Ollama dialect (mock_ollama.py)
                status, answer = ollama_answer(self.path.rstrip("/"), raw, served.add)
                self._send(status, json.dumps(answer).encode())
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._error(404, f"no route {self.path}", "not_found")
                return
            try:
                request = json.loads(raw)
                messages = list(request["messages"])
            except (ValueError, KeyError, TypeError):
                self._error(400, "body must be JSON with a messages list", "invalid_request_error")
                return
            refusal = _refusal(self.headers, request, api_key)
            if refusal is not None:
                served.add(f"refused_{refusal[0]}")
                self._error(*refusal)
                return
            fault = dice.draw()
            if fault == "rate_limit":
                self._error(429, "mock rate limit (injected fault)", "rate_limit_error")
                return
            if fault == "server_error":
                self._error(500, "mock server error (injected fault)", "server_error")
                return
            if fault == "delay":
                time.sleep(dice.faults.delay_s)
            try:
                content = dice.hostile_answer(messages) or _answer(messages, request, fault, served)
            except Exception as error:  # a mock bug is the server's error, said in one line
                self._error(500, f"mock model failed: {type(error).__name__}: {one_line(error, 300)}", "server_error")
                return
            model = str(request.get("model") or "mock")
            if fault == "malformed":
                body = json.dumps(_completion(model, content, messages, "stop")).encode()
                self._send(200, body[: len(body) // 2])
                return
            if fault == "truncated":
                self._send(200, json.dumps(_completion(model, content[: len(content) // 2], messages, "length")).encode())
                return
            self._send(200, json.dumps(_completion(model, content, messages, "stop")).encode())

    return Handler


class MockServer:
    """A running server: its address and the faults it has injected so far."""

    def __init__(self, host: str, port: int, faults: FaultConfig, api_key: str | None = None) -> None:
        self._dice = _FaultDice(faults)
        self._served = _Served()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self._dice, self._served, api_key))
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[:2]

    @property
    def api_base(self) -> str:
        """For OpenAI-compatible clients (`openai/...`, `hosted_vllm/...`)."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def root(self) -> str:
        """For Ollama clients (`ollama/...`, `ollama_chat/...`), which add /api/... themselves."""
        return f"http://{self.host}:{self.port}"

    @property
    def fault_counts(self) -> dict[str, int]:
        return dict(self._dice.counts)

    @property
    def served(self) -> dict[str, int]:
        """Structured requests, answers outside their schema (should stay 0), refusals by status."""
        return dict(self._served.counts)

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.1)

    def shutdown(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def serve(host: str = "127.0.0.1", port: int = 8000, faults: FaultConfig | None = None,
          api_key: str | None = None) -> None:
    """Serve until interrupted (what `archlab serve-mock` runs)."""
    server = MockServer(host, port, faults or FaultConfig(), api_key)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


@contextmanager
def running_mock_server(faults: FaultConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                        api_key: str | None = None) -> Iterator[MockServer]:
    """Start the server on a free loopback port in a thread; stop it on exit."""
    server = MockServer(host, port, faults or FaultConfig(), api_key)
    thread = threading.Thread(target=server.serve_forever, name="archlab-mock-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)
