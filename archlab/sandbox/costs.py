"""Parameter and FLOP counts the trusted parent computes itself, never taking the sandbox's word.

A tree of built-in ops is built here (no candidate code runs: `build` refuses
mined ops unless told otherwise) and counted exactly, together with the exact
names and shapes of its `state_dict`. A tree with mined ops cannot be built
here, so each mined op is replaced by a parameter-free stand-in with the same
shape rule (generated from the op's recorded metadata, not from its source):
the built-in part's counts are then a lower bound the sandbox's claims must
reach (a mined op adds zero or more parameters). A claim below the bound is a
`sandbox` failure.
"""

from __future__ import annotations

import keyword
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from archlab.errors import one_line

CACHE_SIZE = 256


@dataclass(frozen=True)
class TrustedCosts:
    """What the parent knows for sure about a tree's size."""

    exact: bool  # True: counts of the whole model; False: of its built-in part only (a lower bound)
    params: int
    flops: int | None
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # state_dict tensor shapes (built-in part)


class CostError(ValueError):
    """The tree cannot be sized; `str()` is one line."""


class CostBook:
    """Trusted costs per (tree, task), cached: a campaign evaluates the same tree at several fidelities."""

    def __init__(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        self.input_shape, self.num_classes = tuple(input_shape), num_classes
        self._cache: OrderedDict[str, TrustedCosts] = OrderedDict()
        self._lock = threading.Lock()  # torch's flop counter is a mode on a shared stack: one at a time

    def costs(self, arch_json: dict) -> TrustedCosts:
        from archlab.tools import Arch, ArchError, arch_hash

        try:
            arch = Arch.model_validate(arch_json)
            key = arch_hash(arch)
        except (ArchError, ValueError) as exc:
            raise CostError(f"malformed tree: {one_line(exc)}") from None
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._measure(arch)
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            return self._cache[key]

    def _measure(self, arch) -> TrustedCosts:
        from archlab.tools import ArchError, build, count_flops, count_params

        used = used_mined(arch)
        tree = stand_in_tree(arch, used) if used else arch
        try:
            model = build(tree, self.input_shape, self.num_classes, allow_code=bool(used))  # stand-ins: our code
        except ArchError as exc:
            raise CostError(str(exc)) from None
        try:
            flops = count_flops(model, self.input_shape)
        except Exception:  # an exotic op (or an ambiguous stand-in) the flop counter cannot run
            flops = None
        shapes = {name: tuple(t.shape) for name, t in model.state_dict().items()}
        return TrustedCosts(exact=not used, params=count_params(model), flops=flops, shapes=shapes)


def used_mined(arch) -> list[str]:
    """Names of the mined ops the tree's nodes use (building those runs candidate code)."""
    found, stack = set(), [arch.root]
    while stack:
        node = stack.pop()
        if node.op in arch.mined:
            found.add(node.op)
        stack.extend(node.children)
    return sorted(found)


def stand_in_tree(arch, used: list[str]):
    """`arch` with each used mined op's source replaced by a trusted, parameter-free stand-in."""
    ops = {}
    for name in used:
        op = arch.mined[name]
        if not op.class_name.isidentifier() or keyword.iskeyword(op.class_name):
            raise CostError(f"mined op {name} has an unusable class name {op.class_name!r}")
        ops[name] = op.model_copy(update={"source": stand_in_source(op)})
    return arch.model_copy(update={"mined": {**arch.mined, **ops}})


def stand_in_source(op) -> str:
    """Source of a module with `op`'s name, constructor and shape rule, and no parameters.

    Generated here from the op's metadata: the class name (checked to be an
    identifier) and the out-channel argument (embedded with `repr`), so nothing
    of the candidate's source is ever run in the parent.
    """
    out_param = op.out_param if op.out_rule == "channels_param" and op.out_param else None
    axis = -1 if list(op.kinds) == ["tokens"] else (None if "tokens" in op.kinds and len(op.kinds) > 1 else 1)
    return "\n".join([
        "import torch",
        "from torch import nn",
        "",
        f"class {op.class_name}(nn.Module):",
        "    def __init__(self, *args, **kwargs):",
        "        super().__init__()",
        f"        self.out = kwargs.get({out_param!r}) if {out_param!r} else None",
        "",
        "    def forward(self, x):",
        "        if self.out is None:",
        "            return x",
        f"        axis = {axis!r}",
        "        if axis is None:",
        "            raise RuntimeError('channel axis is ambiguous for this stand-in')",
        "        shape = list(x.shape)",
        "        shape[axis] = self.out",
        "        return x.new_zeros(shape)",
        "",
    ])
