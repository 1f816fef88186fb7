"""What an op is: the `OpSpec` record every op module fills in, and `Call`.

A `Call` is a constructor call (`nn.Conv1d(1, 25, kernel_size=5)`) kept as
data. Each op turns its params and input type into one `Call`; `build`
instantiates it with real classes and `render` prints it as source. Because
both read the very same `Call`, the compiled module and the rendered file
cannot drift apart (the tests still prove they agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from pydantic import BaseModel, ConfigDict

from archlab.tools.errors import ShapeError
from archlab.tools.tensors import TensorType


@dataclass(frozen=True)
class Call:
    """A constructor call as data: `target(*args, **kwargs)`.

    `target` is `nn.<Name>` (torch.nn), a class of `archlab/tools/runtime.py`
    by bare name, or `mined.<Class>`. Args may be plain values, Calls or
    lists of Calls.
    """

    target: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""  # the node path it builds (names variables in rendered source)


# Composite ops ask for their children through callbacks that also carry
# `.count` (the number of children of the node):
#   shape rules: child(i, input_type) -> output_type
#   builders:    child(i, input_type) -> (Call, output_type)
ChildShape = Any
ChildCall = Any


class Params(BaseModel):
    """Base of every op's params model: typed, defaulted, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, eq=False)  # one object per space: compared (and hashed) by identity
class CellSpace:
    """A closed search space made by one op: fixed slots, each holding one of fixed choices.

    A tree that is a single node of such an op stays in the space under `edit_kind`
    edits only (whose `fixed[slot_param]` names the slot and `fixed[choice_param]` the
    new choice), and a uniform sample of the space draws every slot's choice uniformly.
    Search and campaign read these facts instead of naming a benchmark.

    - `families`: choice -> descriptor family (a MAP-Elites cell groups by the most
      frequent family among the live slots);
    - `live_choices(params)`: the choices on slots that change what the cell computes;
    - `prompt_text(params)`: the few lines a model reads instead of the rendered network;
    - `with_choice(params, slot, choice)`: the node's params after the edit that sets `slot`
      to `choice` (ArchError, one line: a bad slot or choice, or no change); the op's edit
      applies it, and a search hashes children through it without building their trees;
    - `seed_hint`: how a person names a seed of this space (for one-line errors).
    """

    op: str
    edit_kind: str
    slot_param: str
    choice_param: str
    slots: tuple[str, ...]
    choices: tuple[str, ...]
    families: Mapping[str, str]
    live_choices: Callable[[Mapping[str, Any]], tuple[str, ...]]
    prompt_text: Callable[[Mapping[str, Any]], str]
    with_choice: Callable[[Mapping[str, Any], Any, Any], dict[str, Any]]
    seed_hint: str


@dataclass(frozen=True)
class OpSpec:
    """Everything the library knows about one op.

    - `params`: pydantic model of the op's parameters (typed, defaults).
    - `shape(p, t, child)`: output type or `ShapeError` with a one-line reason.
    - `call(p, t, child)`: the constructor `Call` building the op for input `t`.
    - `domains`: tunable params -> candidate values (bounded; `set_param` filters
      them to the values that keep the tree valid).
    - `insert_free`: params left free when the op is inserted or swapped in; the
      first one may change the output type, the others must not.
    - `insert_defaults`: fixed params when inserted (e.g. padding "same").
    - `arity`: (min, max) children; leaves are (0, 0).
    - `canonical(params, children_json)`: optional hook for arch_hash, returning a
      canonical JSON-able form of the node (e.g. merge equivalent cells).
    - `family`: coarse kind for descriptors (conv, mlp, attention, ...).
    - `cell_space`: set when a single node of this op spans a closed cell space.
    """

    name: str
    family: str
    params: type[Params]
    shape: Callable[[Any, TensorType, ChildShape | None], TensorType]
    call: Callable[[Any, TensorType, ChildCall | None], Call]
    domains: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    insert_free: tuple[str, ...] | None = None  # None: never inserted by edits
    insert_defaults: Mapping[str, Any] = field(default_factory=dict)
    arity: tuple[int, int | None] = (0, 0)
    canonical: Callable[[dict[str, Any], list[Any]], Any] | None = None
    extra_edits: Callable[..., list[Any]] | None = None  # op-specific edit kinds (e.g. cell_edge)
    apply_extra: Callable[..., Any] | None = None
    cell_space: CellSpace | None = None

    @property
    def is_leaf(self) -> bool:
        return self.arity == (0, 0)


def need(condition: bool, message: str) -> None:
    """Shape-rule helper: raise a one-line ShapeError unless `condition`."""
    if not condition:
        raise ShapeError(message)


def need_kind(op: str, t: TensorType, kinds: tuple[str, ...]) -> None:
    if t.kind not in kinds:
        raise ShapeError(f"{op} needs {' or '.join(kinds)} input, got {t}")


WIDTHS: tuple[int, ...] = (8, 16, 24, 32, 48, 64, 96, 128)
KERNELS: tuple[int, ...] = (1, 3, 5, 7, 9)
