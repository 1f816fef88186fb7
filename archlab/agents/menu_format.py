"""How the coder shows a menu to a model: one compact line per entry, and the answer's JSON schema.

The menu appears once in the prompt. Each line is readable as text and exact as
data (the mock model reads it back into the entry, see archlab.llm.mock.menu_lines):

    S1 = {8,16,24,32,48,64,96,128}
    E3: insert root.2 conv padding=same | kernel in {1,3,5,7,9}; out_channels in S1

i.e. `id: kind path [op] [name=value ...] [| free in DOMAIN[; free in DOMAIN ...]]` (the fixed
parameters in their order, `op` first and unnamed), where
DOMAIN is `{v1,v2,...}` (the allowed values), `TYPE LOW..HIGH` (a range) or the name of a
value set defined above the entries (`S1 = {...}`: a set of three or more values that
several entries share, written once). A value is written bare when it is a plain word
that JSON would not read (`same`, `0->1`), and as compact JSON otherwise (numbers, `"1"`,
`"two words"`, a donor subtree).

The answer schema (sent as the provider's `response_format` where it supports one) makes
`choice` an enum of the ids shown and `params` one of the shown entries' free-parameter
objects, each value typed by its domain (an enum of the allowed values, or a min/max range).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from typing import Any

_BARE = re.compile(r"[A-Za-z0-9_.:/>+*-]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def encode_value(value: Any) -> str:
    """A value as the menu line writes it: a bare word when unambiguous, compact JSON otherwise
    (keys in their own order, so the entry reads back exactly)."""
    if isinstance(value, str):
        return _encode_text(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


@lru_cache(maxsize=4096)
def _encode_text(value: str) -> str:
    """`encode_value` of a string (memoised: menus repeat the same ops and names at every step,
    and each bare word costs a failed JSON parse)."""
    if _BARE.fullmatch(value):
        try:
            json.loads(value)
        except ValueError:
            return value  # JSON would not read it: a bare word is exact
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _name(name: str) -> str:
    return name if _NAME.fullmatch(name) else _json(name)


_SHARED_MIN_VALUES = 3  # a pair costs no more written out than named


def encode_domain(domain: Any) -> str:
    if domain.values is not None:
        return "{" + ",".join(encode_value(v) for v in domain.values) + "}"
    return f"{domain.type} {_json(domain.low)}..{_json(domain.high)}"


def menu_line(index: int, edit: Any, shared: dict[str, str] | None = None) -> str:
    """`E<index>: kind path [op] [name=value ...] [| free in DOMAIN; ...]` for one menu entry;
    `shared` maps a written-out domain to the name of its value set."""
    parts = [f"E{index}:", edit.kind, edit.path]
    if "op" in edit.fixed:
        parts.append(encode_value(edit.fixed["op"]))
    parts += [f"{_name(k)}={encode_value(v)}" for k, v in edit.fixed.items() if k != "op"]
    line = " ".join(parts)
    if edit.free:
        domains = [(k, encode_domain(d)) for k, d in edit.free.items()]
        line += " | " + "; ".join(f"{_name(k)} in {(shared or {}).get(text, text)}" for k, text in domains)
    return line


def shared_sets(menu: list[Any]) -> dict[str, str]:
    """Value sets of three or more values that two or more entries use: written-out domain -> `S<n>`."""
    counts = Counter(encode_domain(d) for edit in menu for d in edit.free.values()
                     if d.values is not None and len(d.values) >= _SHARED_MIN_VALUES)
    repeated = [text for text, count in counts.items() if count >= 2]  # in order of first use
    return {text: f"S{i + 1}" for i, text in enumerate(repeated)}


def menu_lines(menu: list[Any]) -> list[str]:
    """The menu section's lines: the shared value sets (`S1 = {...}`), then one line per entry."""
    shared = shared_sets(menu)
    return [f"{name} = {text}" for text, name in shared.items()] + [
        menu_line(i, edit, shared) for i, edit in enumerate(menu)]


# ---- the answer schema ---------------------------------------------------------------------

def domain_schema(domain: Any) -> dict[str, Any]:
    """JSON schema of one free parameter: the allowed values, or a typed range."""
    if domain.values is not None:
        return {"enum": list(domain.values)}
    schema: dict[str, Any] = {"type": "integer" if domain.type == "int" else "number"}
    if domain.low is not None:
        schema["minimum"] = int(domain.low) if domain.type == "int" else domain.low
    if domain.high is not None:
        schema["maximum"] = int(domain.high) if domain.type == "int" else domain.high
    return schema


def _params_schema(edit: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {name: domain_schema(d) for name, d in edit.free.items()},
            "required": list(edit.free), "additionalProperties": False}


def coder_answer_schema(menu: list[Any]) -> dict[str, Any]:
    """The coder's answer for this shown menu: a menu id, that entry's free values, a rationale.

    `params` is one of the distinct free-parameter objects of the entries shown (an entry
    with no free parameter takes `{}`); which one goes with which id is the agent's check,
    because a schema that tied them would have to be an `anyOf` at its root, which strict
    providers refuse.
    """
    variants: dict[str, dict[str, Any]] = {}
    for edit in menu:
        if edit.free:
            schema = _params_schema(edit)
            variants.setdefault(_json(schema), schema)
        elif "" not in variants:  # entries without free values share one schema (no dump each)
            variants[""] = _params_schema(edit)
    options = list(variants.values())
    return {
        "type": "object",
        "properties": {
            "choice": {"type": "string", "enum": [f"E{i}" for i in range(len(menu))]},
            "params": options[0] if len(options) == 1 else {"anyOf": options},
            "rationale": {"type": "string"},
        },
        "required": ["choice", "params", "rationale"],
        "additionalProperties": False,
    }
