"""Read the coder prompt's compact menu lines back into entries (what the mock model chooses from).

The line format is written by archlab.agents.menu_format (see its docstring):

    S1 = {8,16,24,32,48,64,96,128}
    E3: insert root.2 conv padding=same | kernel in {1,3,5,7,9}; out_channels in S1

Each entry comes back as `{id, kind, path, fixed, free}`, `free` mapping a parameter to
its list of values or to `{type, low, high}`: exactly the row the earlier MENU JSON block
held, so the mock's choice does not depend on which of the two layouts it read.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

_LINE = re.compile(r"^(E\d+): (\S+) (\S+)(.*)$")
_DECODER = json.JSONDecoder()
_STOP = " ,;|{}"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_RANGE_TYPE = re.compile(r"(\w+) ")
_SET = re.compile(r"^(S\d+) = (\{.*\})$")
_SET_NAME = re.compile(r"S\d+(?=;|$)")


class MenuLineError(ValueError):
    """A menu line that does not follow the format."""


class _Reader:
    """A cursor over one line's text."""

    def __init__(self, text: str, sets: dict[str, list] | None = None) -> None:
        self.text, self.pos, self.sets = text, 0, sets or {}

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def expect(self, literal: str) -> None:
        if not self.peek(literal):
            raise MenuLineError(f"expected {literal!r} at {self.pos} in {self.text!r}")
        self.pos += len(literal)

    def value(self) -> object:
        """A compact JSON value, or a bare word (a string JSON would not read)."""
        if self.pos < len(self.text) and self.text[self.pos] in '"{[':
            value, self.pos = _DECODER.raw_decode(self.text, self.pos)
            return value
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _STOP:
            self.pos += 1
        word = self.text[start : self.pos]
        if not word:
            raise MenuLineError(f"expected a value at {start} in {self.text!r}")
        try:
            return json.loads(word)
        except ValueError:
            return word

    def name(self, then: str) -> str | None:
        """A parameter name followed by `then` (a bare word or a JSON string), else None (cursor kept)."""
        if self.peek('"'):
            value, end = _DECODER.raw_decode(self.text, self.pos)
        else:
            match = _NAME.match(self.text, self.pos)
            if match is None:
                return None
            value, end = match.group(0), match.end()
        if not self.text.startswith(then, end):
            return None
        self.pos = end + len(then)
        return str(value)

    def domain(self) -> object:
        named = _SET_NAME.match(self.text, self.pos)
        if named is not None:
            if named.group(0) not in self.sets:
                raise MenuLineError(f"value set {named.group(0)} is not defined above {self.text!r}")
            self.pos = named.end()
            return list(self.sets[named.group(0)])
        if self.peek("{"):
            self.pos += 1
            values = []
            while not self.peek("}"):
                values.append(self.value())
                if self.peek(","):
                    self.pos += 1
                elif not self.peek("}"):
                    raise MenuLineError(f"expected ',' or '}}' at {self.pos} in {self.text!r}")
            self.pos += 1
            return values
        match = _RANGE_TYPE.match(self.text, self.pos)
        if match is None:
            raise MenuLineError(f"expected a domain at {self.pos} in {self.text!r}")
        self.pos = match.end()
        low, end = _DECODER.raw_decode(self.text, self.pos)
        self.pos = end
        self.expect("..")
        high, self.pos = _DECODER.raw_decode(self.text, self.pos)
        return {"type": match.group(1), "low": low, "high": high}


def parse_set_line(line: str) -> tuple[str, list]:
    """One `S<n> = {v1,v2,...}` line as (name, values)."""
    match = _SET.match(line)
    if match is None:
        raise MenuLineError(f"not a value set line: {line!r}")
    reader = _Reader(match.group(2))
    values = reader.domain()
    if not reader.done():
        raise MenuLineError(f"unexpected text after the set in {line!r}")
    return match.group(1), values  # type: ignore[return-value]


def parse_menu_line(line: str, sets: dict[str, list] | None = None) -> dict:
    """One `E<n>: ...` line as `{id, kind, path, fixed, free}` (`sets`: the value sets defined
    above it); MenuLineError if malformed."""
    match = _LINE.match(line)
    if match is None:
        raise MenuLineError(f"not a menu line: {line!r}")
    entry_id, kind, path, rest = match.groups()
    reader = _Reader(rest, sets)
    fixed: dict = {}
    free: dict = {}
    while reader.peek(" ") and not reader.peek(" | "):
        reader.pos += 1
        name = reader.name("=")
        fixed["op" if name is None else name] = reader.value()
    if reader.peek(" | "):
        reader.pos += 3
        while True:
            name = reader.name(" in ")
            if name is None:
                raise MenuLineError(f"expected 'NAME in DOMAIN' at {reader.pos} in {line!r}")
            free[name] = reader.domain()
            if not reader.peek("; "):
                break
            reader.pos += 2
    if not reader.done():
        raise MenuLineError(f"unexpected text at {reader.pos} in {line!r}")
    return {"id": entry_id, "kind": kind, "path": path, "fixed": fixed, "free": free}


def menu_section(prompt: str, header: str = "MENU (") -> list[str]:
    """The set and entry lines that follow the menu header line, up to the first other line."""
    lines = prompt.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(header)), None)
    if start is None:
        return []
    out = []
    for line in lines[start + 1 :]:
        if not (_LINE.match(line) or _SET.match(line)):
            break
        out.append(line)
    return out


def parse_menu(prompt: str) -> list[dict]:
    """Every entry of the prompt's compact menu, in order (empty when there is none).
    Each call gets its own dicts (a copy of the parse of the same menu text, which the mock
    reads twice per prompt: for its seed and for its choice)."""
    return [{**entry, "fixed": dict(entry["fixed"]), "free": {k: _copied(v) for k, v in entry["free"].items()}}
            for entry in _parsed_menu(tuple(menu_section(prompt)))]


def _copied(domain: Any) -> Any:
    if isinstance(domain, dict):
        return {k: list(v) if isinstance(v, list) else v for k, v in domain.items()}
    return list(domain) if isinstance(domain, list) else domain


@lru_cache(maxsize=16)
def _parsed_menu(lines: tuple[str, ...]) -> tuple[dict, ...]:
    set_lines: tuple[str, ...] = ()
    entries = []
    for line in lines:
        if _SET.match(line):
            set_lines += (line,)
            _value_sets(set_lines)  # a malformed set line fails here, where it stands
        else:
            entries.append(_parsed_entry(line, set_lines))
    return tuple(entries)


@lru_cache(maxsize=4096)
def _parsed_entry(line: str, set_lines: tuple[str, ...]) -> dict:
    """One entry line, given the set lines above it. Cached by line: a climb's menus differ by a
    few entries from prompt to prompt, so most lines were parsed before (callers copy the dicts)."""
    return parse_menu_line(line, _value_sets(set_lines))


@lru_cache(maxsize=64)
def _value_sets(set_lines: tuple[str, ...]) -> dict[str, list]:
    return dict(parse_set_line(line) for line in set_lines)
