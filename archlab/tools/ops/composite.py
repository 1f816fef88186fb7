"""Composite ops: `seq`, `residual`, `parallel` (add | concat) and `repeat` (n copies).

Their shape rules and builders reach their children through the callbacks of
`ops/spec.py`, so the same code serves validation, edits, build and render.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from archlab.tools.errors import ShapeError
from archlab.tools.ops.spec import Call, ChildCall, ChildShape, OpSpec, Params
from archlab.tools.tensors import TensorType


class SeqParams(Params):
    pass


class ResidualParams(Params):
    pass


class ParallelParams(Params):
    merge: Literal["add", "concat"] = "add"


class RepeatParams(Params):
    n: int = Field(2, ge=1, le=16)


# ---- seq -------------------------------------------------------------------

def _seq_shape(_p: SeqParams, t: TensorType, child: ChildShape) -> TensorType:
    for i in range(child.count):
        t = child(i, t)
    return t


def _seq_call(_p: SeqParams, t: TensorType, child: ChildCall) -> Call:
    calls = []
    for i in range(child.count):
        call, t = child(i, t)
        calls.append(call)
    return Call("nn.Sequential", tuple(calls))


# ---- residual ----------------------------------------------------------------

def projection_problem(t_in: TensorType, t_out: TensorType) -> str | None:
    """Why no skip projection maps `t_in` to `t_out`, or None when one exists."""
    if t_in.kind != t_out.kind:
        return f"residual body turns {t_in} into {t_out}: no skip projection across kinds"
    if t_in.kind == "tokens" and t_in.shape[0] != t_out.shape[0]:
        return f"residual body changes token count {t_in} -> {t_out}"
    return None


def skip_projection(t_in: TensorType, t_out: TensorType) -> Call:
    """The skip path of a residual: identity, or the cheapest projection to `t_out`.

    Channels change -> 1x1 conv (seq, image) or linear (vector, tokens);
    positions change -> adaptive average pooling to the body's output size.
    """
    if t_in == t_out:
        return Call("nn.Identity")
    problem = projection_problem(t_in, t_out)
    if problem:
        raise ShapeError(problem)
    if t_in.kind in ("vector", "tokens"):
        return Call("nn.Linear", (t_in.channels, t_out.channels))
    dims = "1d" if t_in.kind == "seq" else "2d"
    parts = []
    if t_in.spatial != t_out.spatial:
        size = t_out.spatial[0] if len(t_out.spatial) == 1 else tuple(t_out.spatial)
        parts.append(Call(f"nn.AdaptiveAvgPool{dims}", (size,)))
    if t_in.channels != t_out.channels:
        parts.append(Call(f"nn.Conv{dims}", (t_in.channels, t_out.channels, 1)))
    return parts[0] if len(parts) == 1 else Call("nn.Sequential", tuple(parts))


def _residual_shape(_p: ResidualParams, t: TensorType, child: ChildShape) -> TensorType:
    out = child(0, t)
    problem = projection_problem(t, out) if out != t else None
    if problem:
        raise ShapeError(problem)
    return out


def _residual_call(_p: ResidualParams, t: TensorType, child: ChildCall) -> Call:
    body, out = child(0, t)
    return Call("Residual", (body, skip_projection(t, out)))


# ---- parallel ----------------------------------------------------------------

def _merge(p: ParallelParams, outs: list[TensorType]) -> TensorType:
    first = outs[0]
    if p.merge == "add":
        for i, o in enumerate(outs[1:], start=1):
            if not (o == first):
                raise ShapeError(f"parallel add needs equal branch outputs, branch 0 gives {first}, branch {i} gives {o}")
        return first
    for i, o in enumerate(outs[1:], start=1):
        same_positions = o.kind == first.kind and (
            o.shape[:-1] == first.shape[:-1] if o.kind == "tokens" else o.spatial == first.spatial)
        if not (same_positions):
            raise ShapeError(f"parallel concat needs branches of one kind and size, branch 0 gives {first}, branch {i} gives {o}")
    return first.with_channels(sum(o.channels for o in outs))


def _parallel_shape(p: ParallelParams, t: TensorType, child: ChildShape) -> TensorType:
    return _merge(p, [child(i, t) for i in range(child.count)])


def _parallel_call(p: ParallelParams, t: TensorType, child: ChildCall) -> Call:
    built = [child(i, t) for i in range(child.count)]
    out = _merge(p, [o for _, o in built])
    dim = 2 if out.kind == "tokens" else 1
    return Call("Parallel", ([c for c, _ in built], p.merge, dim))


# ---- repeat ------------------------------------------------------------------

def _repeat_shape(p: RepeatParams, t: TensorType, child: ChildShape) -> TensorType:
    for _ in range(p.n):
        t = child(0, t)
    return t


def _repeat_call(p: RepeatParams, t: TensorType, child: ChildCall) -> Call:
    calls = []
    for _ in range(p.n):
        call, t = child(0, t)
        calls.append(call)
    return Call("nn.Sequential", tuple(calls))


def _parallel_canonical(params: dict[str, Any], children: list[Any]) -> Any:
    """Branches merged by addition commute: sort them so order does not change the hash."""
    import json

    if params.get("merge") == "add":
        children = sorted(children, key=lambda c: json.dumps(c, sort_keys=True))
    return {"op": "parallel", "params": params, "children": children}


def composite(name: str, params: type[Params], shape: Any, call: Any, arity: tuple[int, int | None],
              **extra: Any) -> OpSpec:
    """Composite rules read the number of children from the callback's `count`."""
    return OpSpec(name=name, family="composite", params=params, shape=shape, call=call,
                  arity=arity, **extra)


SEQ = composite("seq", SeqParams, _seq_shape, _seq_call, (1, None))
RESIDUAL = composite("residual", ResidualParams, _residual_shape, _residual_call, (1, 1))
PARALLEL = composite("parallel", ParallelParams, _parallel_shape, _parallel_call, (1, None),
                     domains={"merge": ("add", "concat")}, canonical=_parallel_canonical)
REPEAT = composite("repeat", RepeatParams, _repeat_shape, _repeat_call, (1, 1),
                   domains={"n": (1, 2, 3, 4)})

__all__ = ["SEQ", "RESIDUAL", "PARALLEL", "REPEAT", "skip_projection", "projection_problem"]
