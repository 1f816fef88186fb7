"""The model layer: one client over litellm, accounting, cassettes and the mock model.

Imports nothing from archlab except `archlab.records` and `archlab.errors` (see docs/CONTRACTS.md).
litellm itself is imported only by `archlab.llm.providers`, and only when a real
provider is used, so `--model mock` never pays its import time.
"""

from archlab.llm.accounting import AgentUsage, CallUsage, SpendCap, UsageReport
from archlab.llm.cassette import Cassette, Exchange, messages_hash
from archlab.llm.client import Answer, LLMClient, check_model
from archlab.llm.errors import (
    FAULT_KINDS,
    CassetteMiss,
    LLMError,
    ModelConfigError,
    ModelUnreachable,
    SpendExceeded,
    TransportError,
)
from archlab.llm.extract import AnswerInvalid, parse_answer
from archlab.llm.mock_server import FaultConfig, MockServer, running_mock_server, serve
from archlab.llm.response_format import response_format, schema_of

__all__ = [
    "FAULT_KINDS",
    "AgentUsage",
    "Answer",
    "AnswerInvalid",
    "CallUsage",
    "Cassette",
    "CassetteMiss",
    "Exchange",
    "FaultConfig",
    "LLMClient",
    "LLMError",
    "MockServer",
    "ModelConfigError",
    "ModelUnreachable",
    "SpendCap",
    "SpendExceeded",
    "TransportError",
    "UsageReport",
    "check_model",
    "messages_hash",
    "parse_answer",
    "response_format",
    "running_mock_server",
    "schema_of",
    "serve",
]
