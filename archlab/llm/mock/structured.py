"""The mock's constrained decoding: an answer made to fit the JSON schema a request asked for.

A provider that honours `response_format` can only produce JSON of the schema. The
mock's answers already fit the agents' schemas, so for them this changes nothing (and
their text stays byte for byte what free text would be); for any other schema the
answer is projected onto it as a decoder would have written it: keys the schema does
not allow are dropped, a required key the answer lacks gets the plainest value of
its type, and a value outside an enum becomes the enum's first.
"""

from __future__ import annotations

import json
from typing import Any

from archlab.llm.response_format import violations


def _types(schema: dict) -> list[str]:
    kind = schema.get("type")
    return kind if isinstance(kind, list) else [kind] if kind else []


def _plain(schema: dict) -> Any:
    """The plainest value of a schema: null where allowed, else an empty value of its type."""
    options = schema.get("anyOf") or [schema]
    if any("null" in _types(option) for option in options):
        return None
    first = options[0]
    if "enum" in first:
        return first["enum"][0]
    if "const" in first:
        return first["const"]
    kind = (_types(first) or ["object"])[0]
    if kind == "object":
        return conform({}, first)
    low = first.get("minimum", first.get("exclusiveMinimum", 0))
    return {"array": [], "string": "", "boolean": False, "integer": int(low) + int("exclusiveMinimum" in first),
            "number": float(low) + float("exclusiveMinimum" in first)}.get(kind)


def conform(value: Any, schema: dict) -> Any:
    """`value` projected onto `schema` (objects, arrays and enums; other values are kept)."""
    if "anyOf" in schema:
        fitting = next((o for o in schema["anyOf"] if not violations(value, o)), None)
        return value if fitting is not None else conform(value, schema["anyOf"][0])
    if "enum" in schema and value not in schema["enum"]:
        return schema["enum"][0]
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        out = {k: conform(v, properties[k]) if k in properties else v for k, v in value.items()
               if k in properties or schema.get("additionalProperties", True) is not False}
        for key in schema.get("required", []):
            if key not in out:
                out[key] = _plain(properties.get(key, {}))
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = [conform(item, schema["items"]) for item in value]
        return items[: schema["maxItems"]] if "maxItems" in schema else items
    if not isinstance(value, dict) and "object" in _types(schema):
        return conform({}, schema)
    return value


def fit(text: str, schema: dict) -> str:
    """The answer text as constrained decoding to `schema` would give it (unchanged when it fits)."""
    try:
        value = json.loads(text)
    except ValueError:
        value = {}
    if not violations(value, schema):
        return text
    return json.dumps(conform(value, schema), sort_keys=True)
