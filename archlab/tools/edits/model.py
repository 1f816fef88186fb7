"""Edit records: `Domain` (the values a free parameter may take) and `Edit`.

An Edit is one entry of the legal menu: its `kind`, the node `path` it acts
on, the `fixed` parameters already decided and the `free` ones with their
exact domains (every value gives a valid tree). `fill` moves chosen values
from `free` to `fixed`, checking each against its domain.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from archlab.tools.errors import EditError

EditKind = Literal["insert", "remove", "replace", "set_param", "wrap_residual", "add_branch",
                   "swap_act", "swap_norm", "crossover", "cell_edge",
                   "stem", "downsample", "deepen", "widen", "make_room"]
# The plain kinds: what `legal_edits` lists by default.
EDIT_KINDS: tuple[str, ...] = ("insert", "remove", "replace", "set_param", "wrap_residual",
                               "add_branch", "swap_act", "swap_norm", "crossover", "cell_edge")
# Macro moves (edits/macros.py): listed with `legal_edits(..., macros=True)` or when named in `kinds`.
MACRO_KINDS: tuple[str, ...] = ("stem", "downsample", "deepen", "widen", "make_room")
ALL_KINDS: tuple[str, ...] = EDIT_KINDS + MACRO_KINDS


class Domain(BaseModel):
    """The values of one free parameter: a finite list, or an int/float range."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["int", "float", "choice"]
    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> "Domain":
        if self.values is None and (self.low is None or self.high is None):
            raise ValueError("a domain needs values or both low and high")
        if self.values is not None and not self.values:
            raise ValueError("a domain's values must not be empty")
        return self

    @classmethod
    def of(cls, values: list[Any] | tuple[Any, ...]) -> "Domain":
        """A finite domain; typed 'int' when every value is an int."""
        vals = list(values)
        is_int = all(isinstance(v, int) and not isinstance(v, bool) for v in vals)
        return cls(type="int" if is_int else "choice", values=vals)

    @classmethod
    def trusted(cls, values: list[Any]) -> "Domain":
        """Like `of` without validation, for the menu builder (values are non-empty by construction)."""
        is_int = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        return trusted_model(cls, type="int" if is_int else "choice", values=values, low=None, high=None)

    def contains(self, value: Any) -> bool:
        if self.values is not None:
            return any(value == v and type(value) is type(v) or _num_eq(value, v) for v in self.values)
        if self.type == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            return False
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        return float(self.low) <= value <= float(self.high)  # type: ignore[arg-type]

    def sample(self, rng: random.Random) -> Any:
        if self.values is not None:
            return rng.choice(self.values)
        if self.type == "int":
            return rng.randint(int(self.low), int(self.high))  # type: ignore[arg-type]
        return rng.uniform(float(self.low), float(self.high))  # type: ignore[arg-type]

    def describe(self) -> str:
        if self.values is not None:
            return "{" + ",".join(_short(v) for v in self.values) + "}"
        return f"[{_short(self.low)}..{_short(self.high)}]"


def trusted_model(cls: type[BaseModel], **values: Any) -> Any:
    """Construct a pydantic model from already-valid values, skipping validation.

    `model_construct` does the same but costs ~30 us; a 1,000-node menu builds
    tens of thousands of entries, so this sets the four slots pydantic v2 reads
    directly. `values` must name every field (the tests compare with normal
    construction).
    """
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def _num_eq(a: Any, b: Any) -> bool:
    """1 and 1.0 match in float domains; bools never match numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    return isinstance(a, (int, float)) and isinstance(b, float) and float(a) == b


def _short(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and "op" in v:
        return str(v["op"])
    return str(v)


class Edit(BaseModel):
    """One legal transformation of a tree (see module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EditKind
    path: str
    fixed: dict[str, Any] = Field(default_factory=dict)
    free: dict[str, Domain] = Field(default_factory=dict)
    # The input shape of the menu this edit came from; lets `apply` re-check shapes.
    input_shape: list[int] | None = None

    @property
    def is_filled(self) -> bool:
        return not self.free

    def fill(self, values: dict[str, Any]) -> "Edit":
        """Decide the free parameters; EditError (one line) on a missing, unknown or out-of-domain value."""
        if not isinstance(values, dict):  # noqa: SIM102
            raise EditError(f"fill needs a dict of values, got {type(values).__name__}")
        unknown = sorted(set(values) - set(self.free))
        if unknown:
            raise EditError(f"{self.kind} at {self.path}: no free parameter {unknown[0]!r} "
                            f"(free: {', '.join(self.free) or 'none'})")
        missing = sorted(set(self.free) - set(values))
        if missing:
            raise EditError(f"{self.kind} at {self.path}: missing value for {missing[0]!r}")
        for name, value in values.items():
            domain = self.free[name]
            if not domain.contains(value):
                raise EditError(f"{self.kind} at {self.path}: {name}={value!r} is outside its domain "
                                f"{domain.describe()}")
        return Edit(kind=self.kind, path=self.path, fixed={**self.fixed, **values}, free={},
                    input_shape=self.input_shape)

    def sample(self, rng: random.Random) -> "Edit":
        """Fill every free parameter with a value drawn from its domain."""
        return self.fill({name: d.sample(rng) for name, d in self.free.items()})

    def describe(self) -> str:
        """One line for a prompt menu, e.g. `set_param root.2 conv.kernel in {3,5,7,9}` or
        `stem root.0 conv pool=4 room=root.1 hidden=48 out_channels in {8,16,24,32} kernel in {3,5,7}`."""
        what = self.fixed.get("op") or ""
        if "param" in self.fixed:  # set_param, widen, make_room
            param = self.fixed.get("param", "")
            head = f"{self.kind} {self.path} {what}.{param}"
            if self.is_filled:
                return f"{head}={_short(self.fixed.get(param))}"
            return f"{head} in {self.free[param].describe()}"
        shown = {k: v for k, v in self.fixed.items()
                 if k not in ("op", "subtrees") and not isinstance(v, (dict, list))}
        parts = [self.kind, self.path]
        if what:
            parts.append(str(what))
        parts += [f"{k}={_short(v)}" for k, v in shown.items()]
        parts += [f"{k} in {d.describe()}" for k, d in self.free.items()]
        return " ".join(parts)
