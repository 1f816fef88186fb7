"""Compile a tree to a `torch.nn.Module`: tree -> Calls -> real modules.

`model_calls` lowers a valid tree (plus the automatic classifier head) to one
`Call`; `instantiate` constructs it depth-first, left to right, which is the
exact order `render`'s generated file constructs the same modules in, so a
shared seed gives both the same initial weights.

Mined ops run user source code: `build` refuses them unless `allow_code=True`,
which only the sandbox worker passes.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch
from torch import nn

from archlab.tools import runtime
from archlab.tools.errors import ArchError, one_line
from archlab.tools.ir import ROOT, Arch, Node
from archlab.tools.ops.spec import Call
from archlab.tools.shapes import Children, Shapes, checked_shapes
from archlab.tools.tensors import TensorType


def model_calls(arch: Arch, input_shape: tuple[int, ...], num_classes: int) -> tuple[Call, Shapes]:
    """The whole model (tree + head) as one Call, and the inferred shapes."""
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ArchError(f"num_classes must be a positive int, got {num_classes!r}")
    shapes = checked_shapes(arch, input_shape)

    def lower(node: Node, path: str, t: TensorType) -> tuple[Call, TensorType]:
        spec = shapes.ops.spec(node.op)
        child = Children(lambda i, ti: lower(node.children[i], f"{path}.{i}", ti), len(node.children))
        call = spec.call(shapes.params(node), t, child)
        return dataclasses.replace(call, label=path), shapes.infer(node, t)

    body, out = lower(arch.root, ROOT, shapes.t_in)
    head: list[Call] = [] if out.kind == "vector" else [Call("nn.Flatten")]
    head.append(Call("nn.Linear", (out.numel, num_classes), label="head"))
    return Call("nn.Sequential", (body, *head), label="model"), shapes


def used_mined(arch: Arch) -> list[str]:
    from archlab.tools.ir import iter_nodes

    return sorted({n.op for _, n in iter_nodes(arch.root) if n.op in arch.mined})


def mined_classes(arch: Arch, allow_code: bool) -> dict[str, type]:
    """Execute the source of each mined op the tree uses; refused unless allow_code."""
    names = used_mined(arch)
    if names and not allow_code:
        raise ArchError(f"tree uses mined ops {names}: building runs their source code, "
                        "pass allow_code=True (only inside the sandbox)")
    classes = {}
    for name in names:
        op = arch.mined[name]
        namespace: dict[str, Any] = {"__name__": f"archlab_mined_{op.class_name}"}
        try:
            exec(compile(op.source, f"<mined {name}>", "exec"), namespace)  # noqa: S102 (sandbox only)
            classes[name] = namespace[op.class_name]
        except Exception as exc:  # user code may raise anything
            raise ArchError(f"mined op {name}: source failed: {type(exc).__name__}: {one_line(exc)}") from None
    return classes


def instantiate(call: Call, resolve: Callable[[str], Any]) -> Any:
    """Construct `call` with real classes: nested calls first, left to right."""

    def value(v: Any) -> Any:
        if isinstance(v, Call):
            return instantiate(v, resolve)
        if isinstance(v, list):
            return [value(x) for x in v]
        return v

    args = [value(a) for a in call.args]
    kwargs = {k: value(v) for k, v in call.kwargs.items()}
    return resolve(call.target)(*args, **kwargs)


def build(arch: Arch, input_shape: tuple[int, ...], num_classes: int, *,
          allow_code: bool = False) -> nn.Module:
    """Compile a valid tree plus classifier head to an `nn.Module`.

    Raises ArchError (one line) when the tree is invalid; a valid tree always
    builds and runs forward on input (B, *input_shape).
    """
    call, _ = model_calls(arch, input_shape, num_classes)
    mined = mined_classes(arch, allow_code)

    def resolve(target: str) -> Any:
        if target.startswith("nn."):
            return getattr(nn, target[3:])
        if target in mined:
            return mined[target]
        return getattr(runtime, target)

    try:
        return instantiate(call, resolve)
    except Exception as exc:  # only reachable through mined code or a shape-rule bug
        raise ArchError(f"build failed: {type(exc).__name__}: {one_line(exc)}") from None


def forward_check(module: nn.Module, input_shape: tuple[int, ...], batch: int = 2) -> torch.Tensor:
    """Run one forward pass on zeros (used by tests and mining)."""
    with torch.no_grad():
        return module(torch.zeros(batch, *input_shape))
