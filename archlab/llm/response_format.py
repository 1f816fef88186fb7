"""Structured answers: an answer schema as the `response_format` a provider constrains decoding to.

OpenAI, vLLM, Ollama and llama.cpp servers accept
`{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}` and then only
produce JSON of that schema. The schema sent is the agent's pydantic answer schema cut
down to the keywords every one of them understands (types, properties, enums, anyOf,
numeric bounds, patterns, array lengths): every object closed and every property
required, which is what strict mode asks. Whatever the schema leaves out (a string's
length, a validator) pydantic still checks on the way back, so the parse-and-re-ask
path stays the safety net.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from archlab.errors import one_line

_PORTABLE = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
    "$ref", "$defs", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern",
    "minItems", "maxItems", "description",
})
_NAME = re.compile(r"[^A-Za-z0-9_-]")


def portable_schema(node: Any) -> Any:
    """`node` with only the portable keywords; objects with properties closed and fully required."""
    if isinstance(node, list):
        return [portable_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _PORTABLE:
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: portable_schema(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "required"):
            out[key] = value
        else:
            out[key] = portable_schema(value)
    if "properties" in out:
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=64)
def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    return portable_schema(model.model_json_schema(mode="validation"))


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The portable JSON schema of a pydantic answer model (a fresh copy: callers may keep it)."""
    import copy

    return copy.deepcopy(_model_schema(model))


def strict_ready(schema: Any) -> bool:
    """True when every object in `schema` is closed with all its properties required."""
    if isinstance(schema, list):
        return all(strict_ready(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties")
        if properties is None or schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required") or []) != set(properties):
            return False
    return all(strict_ready(value) for key, value in schema.items() if key not in ("enum", "const", "required"))


def response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI-style `response_format` for a JSON schema (strict where the schema allows)."""
    return {"type": "json_schema",
            "json_schema": {"name": _NAME.sub("_", name)[:64] or "answer", "schema": schema,
                            "strict": strict_ready(schema)}}


def schema_in(request_format: Any) -> dict[str, Any] | None:
    """The JSON schema a request's `response_format` asks for, or None (free text or JSON mode)."""
    if not isinstance(request_format, dict) or request_format.get("type") != "json_schema":
        return None
    inner = request_format.get("json_schema")
    schema = inner.get("schema") if isinstance(inner, dict) else None
    return schema if isinstance(schema, dict) else None


class SchemaInvalid(ValueError):
    """A `response_format` whose schema is not a JSON schema (what a provider answers with HTTP 400)."""


def check_schema(schema: Any) -> None:
    """Raise SchemaInvalid (one line) unless `schema` is a well-formed JSON schema (draft 2020-12)."""
    if not isinstance(schema, dict):
        raise SchemaInvalid(f"the response schema must be a JSON object, got {type(schema).__name__}")
    problem = _schema_problem(json.dumps(schema, sort_keys=True))
    if problem is not None:
        raise SchemaInvalid(problem)


@lru_cache(maxsize=256)
def _schema_problem(canonical: str) -> str | None:
    """Checking against the metaschema costs ~2 ms; a campaign sends few distinct schemas (the
    coder's differ in how many menu ids they list, and in the free values of the entries shown)."""
    from jsonschema import Draft202012Validator, SchemaError

    try:
        Draft202012Validator.check_schema(json.loads(canonical))
    except SchemaError as error:
        where = "/".join(str(p) for p in error.path) or "schema"
        return f"the response schema is not a JSON schema: {where}: {one_line(error.message, 200)}"
    return None


@lru_cache(maxsize=256)
def _validator(canonical: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(canonical))


def format_error(request_format: Any) -> str | None:
    """Why a request's `response_format` is unusable (one line), or None when it is fine or absent."""
    if request_format is None:
        return None
    if not isinstance(request_format, dict) or request_format.get("type") not in ("text", "json_object", "json_schema"):
        return "response_format.type must be text, json_object or json_schema"
    if request_format["type"] == "json_schema":
        try:
            check_schema(schema_in(request_format))
        except SchemaInvalid as error:
            return f"invalid response_format: {error}"
    return None


def violations(value: Any, schema: dict[str, Any], limit: int = 3) -> list[str]:
    """Where `value` breaks `schema` (empty when it fits), one line each."""
    found = sorted(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value), key=lambda e: list(e.path))
    return [f"{'/'.join(str(p) for p in e.path) or 'answer'}: {one_line(e.message, 160)}" for e in found[:limit]]
