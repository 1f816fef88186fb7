"""Code mining: turn the `nn.Module` classes of a Python file into leaf ops.

For each class defined in the file: constructor arguments become typed
parameters (from signature defaults and annotations); the argument that
receives the input channels is recognised by name; shape behaviour is
probed with forward passes on each tensor kind at two sizes, so the op's
shape rule is what the class really does. Every class is either mined or
reported with a one-line reason.

Mining executes the file: like `build(..., allow_code=True)`, call it only
where running untrusted code is acceptable (the sandbox).
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field
from torch import nn

from archlab.tools import runtime
from archlab.tools.errors import MiningError, one_line
from archlab.tools.ir import Arch, MinedOp, MinedParam

CHANNEL_ARGS = ("in_channels", "channels", "in_features", "dim", "d_model", "embed_dim",
                "in_dim", "input_dim", "num_channels", "n_channels", "c_in", "in_planes")
# Two probes per kind: (channels, positions...) as (kind, shape without batch).
_PROBES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "seq": ((8, 16), (12, 20)),
    "image": ((8, 8, 8), (12, 6, 10)),
    "vector": ((8,), (12,)),
    "tokens": ((16, 8), (10, 12)),
}
_RESERVED = {name for name in dir(runtime) if not name.startswith("_")} | {"torch", "nn"}


class MiningReport(BaseModel):
    """What mining a file produced: the new ops, and a reason for every class left out."""

    ops: list[MinedOp] = Field(default_factory=list)
    failures: dict[str, str] = Field(default_factory=dict)


def read_source(target: str | Path) -> str:
    """Source text of a `.py` file path or an importable module path (`pkg.mod`)."""
    path = Path(str(target))
    if path.suffix == ".py" or path.exists():
        try:
            return path.read_text()
        except OSError as exc:
            raise MiningError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        spec = importlib.util.find_spec(str(target))
    except (ImportError, ValueError) as exc:
        raise MiningError(f"cannot find module {target!r}: {one_line(exc)}") from None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise MiningError(f"cannot find the source of module {target!r}")
    return Path(spec.origin).read_text()


def mine(target: str | Path | None = None, *, source: str | None = None) -> MiningReport:
    """Mine a file / module path, or `source` text directly. MiningError if it cannot be loaded."""
    if source is None:
        if target is None:
            raise MiningError("mine needs a file path, a module path or source text")
        source = read_source(target)
    namespace: dict[str, Any] = {"__name__": "archlab_mining"}
    try:
        exec(compile(source, "<mined source>", "exec"), namespace)  # noqa: S102 (sandbox only)
    except Exception as exc:  # user code may raise anything
        raise MiningError(f"source does not load: {type(exc).__name__}: {one_line(exc)}") from None
    report = MiningReport()
    classes = [v for v in namespace.values() if inspect.isclass(v) and issubclass(v, nn.Module)
               and v.__module__ == "archlab_mining"]
    if not classes:
        raise MiningError("no nn.Module classes defined in the source")
    for cls in classes:
        try:
            report.ops.append(_mine_class(cls, source))
        except MiningError as exc:
            report.failures[cls.__name__] = str(exc)
    return report


def with_mined(arch: Arch, *ops: MinedOp) -> Arch:
    """`arch` carrying `ops` too, so edits can insert them."""
    return Arch(root=arch.root, mined={**arch.mined, **{op.name: op for op in ops}}, name=arch.name)


def _mine_class(cls: type, source: str) -> MinedOp:
    name = cls.__name__
    if name in _RESERVED:
        raise MiningError(f"class name {name} clashes with a built-in name; rename it")
    params, channels_arg = _params(cls)
    defaults = {k: p.default for k, p in params.items()}
    kinds: list[str] = []
    rules: set[tuple[str, str | None]] = set()
    first_error = ""
    for kind, shapes in _PROBES.items():
        try:
            rules.add(_probe_kind(cls, kind, shapes, defaults, channels_arg))
            kinds.append(kind)
        except MiningError as exc:
            first_error = first_error or f"{kind}: {exc}"
    if not kinds:
        raise MiningError(f"forward fails on every input kind ({first_error})")
    if len(rules) > 1:
        raise MiningError(f"shape behaviour differs between input kinds: {sorted(map(str, rules))}")
    out_rule, out_param = rules.pop()
    for pname, p in params.items():  # keep only domain values that run and keep the probed rule
        p.values = [v for v in p.values if all(
            _follows(cls, kind, _PROBES[kind], {**defaults, pname: v}, channels_arg, (out_rule, out_param))
            for kind in kinds)]
    return MinedOp(name=f"mined.{name}", class_name=name, source=source, params=params,
                   channels_arg=channels_arg, kinds=kinds, out_rule=out_rule, out_param=out_param)  # type: ignore[arg-type]


def _params(cls: type) -> tuple[dict[str, MinedParam], str | None]:
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError) as exc:
        raise MiningError(f"cannot read the constructor signature: {one_line(exc)}") from None
    params: dict[str, MinedParam] = {}
    channels_arg = None
    for pname, p in list(signature.parameters.items())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if pname in CHANNEL_ARGS and channels_arg is None:
            channels_arg = pname
            continue
        if p.default is inspect.Parameter.empty:
            raise MiningError(f"constructor argument {pname!r} has no default and is not a channel argument")
        default = p.default
        type_name = {bool: "bool", int: "int", float: "float", str: "str"}.get(type(default))
        if type_name is None:
            raise MiningError(f"constructor argument {pname!r} has unsupported default {default!r}")
        params[pname] = MinedParam(type=type_name, default=default, values=_domain(type_name, default))  # type: ignore[arg-type]
    return params, channels_arg


def _domain(type_name: str, default: Any) -> list[Any]:
    if type_name == "bool":
        return [False, True]
    if type_name == "int" and default >= 1:
        return sorted({max(1, default // 2), default, default * 2})
    return []


def _make(cls: type, kwargs: dict[str, Any], channels_arg: str | None, channels: int) -> nn.Module:
    full = dict(kwargs)
    if channels_arg:
        full[channels_arg] = channels
    return cls(**full)


def _forward(cls: type, shape: tuple[int, ...], kind: str, kwargs: dict[str, Any],
             channels_arg: str | None) -> tuple[int, ...]:
    channels = shape[-1] if kind == "tokens" else shape[0]
    try:
        module = _make(cls, kwargs, channels_arg, channels)
        with torch.no_grad():
            out = module(torch.randn(2, *shape))
    except Exception as exc:  # user code may raise anything
        raise MiningError(f"{type(exc).__name__}: {one_line(exc)}") from None
    if not isinstance(out, torch.Tensor) or out.shape[0] != 2:
        raise MiningError("forward must return one tensor with the batch axis first")
    return tuple(out.shape[1:])


def _follows(cls: type, kind: str, shapes: tuple[tuple[int, ...], ...], kwargs: dict[str, Any],
             channels_arg: str | None, rule: tuple[str, str | None]) -> bool:
    """Does the class, built with `kwargs`, still run and follow `rule` at every probe size?"""
    for shape in shapes:
        expected = shape
        if rule[0] == "channels_param" and rule[1] is not None:
            c = kwargs[rule[1]]
            expected = (*shape[:-1], c) if kind == "tokens" else (c, *shape[1:])
        try:
            if _forward(cls, shape, kind, kwargs, channels_arg) != expected:
                return False
        except MiningError:
            return False
    return True


def _probe_kind(cls: type, kind: str, shapes: tuple[tuple[int, ...], ...], defaults: dict[str, Any],
                channels_arg: str | None) -> tuple[str, str | None]:
    """The rule ('same' | 'channels_param', param) that holds at every probe size."""
    candidates: set[tuple[str, str | None]] | None = None
    for shape in shapes:
        out = _forward(cls, shape, kind, defaults, channels_arg)
        found: set[tuple[str, str | None]] = set()
        if out == shape:
            found.add(("same", None))
        positions_kept = len(out) == len(shape) and (
            out[:-1] == shape[:-1] if kind == "tokens" else out[1:] == shape[1:])
        new_c = out[-1] if kind == "tokens" else out[0]
        if positions_kept:
            found |= {("channels_param", k) for k, v in defaults.items()
                      if isinstance(v, int) and not isinstance(v, bool) and v == new_c}
        candidates = found if candidates is None else candidates & found
        if not candidates:
            raise MiningError(f"output {out} for input {shape} follows no supported rule "
                              "(same shape, or channels set by an int argument)")
    assert candidates
    return sorted(candidates, key=lambda r: (r[0] != "same", r[1] or ""))[0]
