"""What a tree looks like, as numbers and as one line of text.

Works on the tree's JSON (`Node(op, params, children)` as in CONTRACTS.md), so
the memory can describe any stored record without compiling it.

The structural vector places "architectures like this one" near each other,
independent of any text: an op histogram (hashed into fixed buckets, so new
or mined ops need no vocabulary change), depth, width statistics, kernel and
dilation sizes, and the parameter and FLOP counts (log-scaled).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archlab.knowledge.errors import KnowledgeError

OP_BUCKETS = 32
SHAPE_FEATURES = 10  # leaves, layer depth, nesting depth, widths x4, kernel, dilation, branches
SIZE_FEATURES = 2  # params, flops
STRUCTURE_DIM = OP_BUCKETS + SHAPE_FEATURES + SIZE_FEATURES
SIZE_SLICE = slice(OP_BUCKETS + SHAPE_FEATURES, STRUCTURE_DIM)

_WIDTH_WORDS = ("channels", "features", "width", "units", "hidden", "dim", "out")
_KERNEL_WORDS = ("kernel",)
_DILATION_WORDS = ("dilation",)
_BRANCHING_OPS = ("parallel", "residual")
_VARIANT_PARAMS = ("fn", "kind", "mode", "type", "merge")


@dataclass
class TreeStats:
    """Counts gathered in one walk over the tree."""

    ops: dict[str, float] = field(default_factory=dict)
    leaves: float = 0.0
    nesting: int = 0
    widths: list[float] = field(default_factory=list)
    kernels: list[float] = field(default_factory=list)
    dilations: list[float] = field(default_factory=list)
    branches: float = 0.0


def root_node(arch: Any) -> dict:
    """The root node of an Arch given as a model, a dict or a JSON string."""
    if hasattr(arch, "model_dump"):
        arch = arch.model_dump(mode="json")
    if isinstance(arch, (str, bytes)):
        try:
            arch = json.loads(arch)
        except json.JSONDecodeError as error:
            raise KnowledgeError(f"arch is not valid JSON: {error.msg} at char {error.pos}") from None
    if not isinstance(arch, dict):
        raise KnowledgeError(f"arch must be an Arch, a dict or JSON, got {type(arch).__name__}")
    if "op" in arch:
        return arch
    for key in ("root", "body", "node"):
        if isinstance(arch.get(key), dict) and "op" in arch[key]:
            return arch[key]
    raise KnowledgeError("arch JSON has no root node (expected an 'op' or a 'root' key)")


def _children(node: dict) -> list[dict]:
    return [child for child in node.get("children") or [] if isinstance(child, dict)]


def _repeat_count(node: dict) -> int:
    params = node.get("params") or {}
    value = params.get("n", 1) if node.get("op") == "repeat" else 1
    return max(int(value), 1) if isinstance(value, (int, float)) else 1


def _collect(node: dict, stats: TreeStats, multiplier: float, level: int) -> float:
    """Walk one node; return its layer depth (leaves on the longest path)."""
    op = str(node.get("op", "?"))
    stats.ops[op] = stats.ops.get(op, 0.0) + multiplier
    for name in _VARIANT_PARAMS:  # act(fn=relu) and act(fn=gelu) differ in the histogram too
        variant = (node.get("params") or {}).get(name)
        if isinstance(variant, str):
            stats.ops[f"{op}:{variant}"] = stats.ops.get(f"{op}:{variant}", 0.0) + multiplier
    stats.nesting = max(stats.nesting, level)
    for name, value in (node.get("params") or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        lowered = name.lower()
        if any(word in lowered for word in _KERNEL_WORDS):
            stats.kernels.append(float(value))
        elif any(word in lowered for word in _DILATION_WORDS):
            stats.dilations.append(float(value))
        elif any(word in lowered for word in _WIDTH_WORDS) and value >= 1:
            stats.widths.append(float(value))
    children = _children(node)
    if not children:
        stats.leaves += multiplier
        return 1.0
    times = _repeat_count(node)
    depths = [_collect(child, stats, multiplier * times, level + 1) for child in children]
    if op in _BRANCHING_OPS or "merge" in (node.get("params") or {}):
        stats.branches += multiplier * len(children)
        return max(depths)
    return sum(depths) * times


def tree_stats(arch: Any) -> tuple[TreeStats, float]:
    """The walk's counts and the layer depth of the whole tree."""
    stats = TreeStats()
    depth = _collect(root_node(arch), stats, 1.0, 0)
    return stats, depth


def _bucket(op: str) -> int:
    digest = hashlib.blake2b(op.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") % OP_BUCKETS


def _log2(value: float) -> float:
    return math.log2(1.0 + max(value, 0.0))


def structural_vector(
    arch: Any, params: int | None = None, flops: int | None = None,
    walked: tuple[TreeStats, float] | None = None,
) -> np.ndarray:
    """Numbers that describe the shape of a tree; unknown sizes are left at 0.

    Unknown params/FLOPs are masked at query time (see `size_mask`), not guessed.
    `walked` reuses a `tree_stats` result when the caller has one.
    """
    stats, depth = walked or tree_stats(arch)
    vector = np.zeros(STRUCTURE_DIM, dtype=np.float32)
    for op, count in stats.ops.items():
        vector[_bucket(op)] += count
    vector[:OP_BUCKETS] = np.log1p(vector[:OP_BUCKETS])
    widths = stats.widths or [0.0]
    shape = [
        _log2(stats.leaves),
        _log2(depth),
        _log2(stats.nesting),
        _log2(min(widths)),
        _log2(sum(widths) / len(widths)),
        _log2(max(widths)),
        _log2(len(set(widths))),
        _log2(sum(stats.kernels) / len(stats.kernels)) if stats.kernels else 0.0,
        _log2(max(stats.dilations)) if stats.dilations else 0.0,
        _log2(stats.branches),
    ]
    vector[OP_BUCKETS : OP_BUCKETS + SHAPE_FEATURES] = shape
    # Sizes in decades, halved so a 10x size gap weighs about one extra layer.
    if params is not None:
        vector[SIZE_SLICE.start] = 0.5 * math.log10(1.0 + params)
    if flops is not None:
        vector[SIZE_SLICE.start + 1] = 0.5 * math.log10(1.0 + flops)
    return vector


def size_mask(params: int | None, flops: int | None) -> np.ndarray:
    """1 for the features the query knows, 0 for unknown params/FLOPs."""
    mask = np.ones(STRUCTURE_DIM, dtype=np.float32)
    if params is None:
        mask[SIZE_SLICE.start] = 0.0
    if flops is None:
        mask[SIZE_SLICE.start + 1] = 0.0
    return mask


def arch_family(arch: Any, walked: tuple[TreeStats, float] | None = None) -> str:
    """A coarse family label used to group results: attention, recurrent, conv, mlp, other."""
    ops = " ".join((walked or tree_stats(arch))[0].ops).lower()
    for family, words in (
        ("attention", ("attn", "attention", "transformer")),
        ("recurrent", ("lstm", "gru", "rnn")),
        ("conv", ("conv",)),
        ("mlp", ("linear", "dense", "mlp")),
    ):
        if any(word in ops for word in words):
            return family
    return "other"


def _format_params(params: dict) -> str:
    shown = [
        f"{name}={value}"
        for name, value in params.items()
        if isinstance(value, (int, float, str, bool)) and len(str(value)) <= 12
    ]
    return "(" + ",".join(shown) + ")" if shown else ""


def _summarize(node: dict) -> str:
    label = f"{node.get('op', '?')}{_format_params(node.get('params') or {})}"
    children = _children(node)
    if not children:
        return label
    if len(children) == 1 and children[0].get("op") == "seq":
        children = _children(children[0])  # residual[seq[a > b]] reads as residual[a > b]
    inner = " > ".join(_summarize(child) for child in children)
    return f"{label}[{inner}]"


def arch_summary(arch: Any, limit: int = 160) -> str:
    """The tree on one line, e.g. `seq[conv(channels=32,kernel=5) > relu > ...]`."""
    text = _summarize(root_node(arch))
    if text.startswith("seq[") and text.endswith("]"):
        text = text[4:-1]  # the outer sequence is implied
    return text if len(text) <= limit else text[: limit - 1] + "…"


def edit_summary(edit: dict | None) -> str:
    """An applied edit on one line, worded as the coder's menu words it; seeds say so.

    Uses archlab.tools' own `Edit.describe()` so memory rows and menus read the
    same; an edit JSON that tools cannot read falls back to a similar wording.
    """
    if not edit:
        return "seed"
    if isinstance(edit.get("description"), str):
        return edit["description"]
    try:
        from archlab.tools import Edit  # lazy: tools imports torch

        return Edit.model_validate(edit).describe()
    except Exception:  # a foreign or older edit JSON: describe it ourselves
        fixed = {k: v for k, v in (edit.get("fixed") or {}).items() if not isinstance(v, (dict, list))}
        what = fixed.pop("op", "")
        words = [str(edit.get("kind", "edit")), str(edit.get("path", "")), str(what)]
        words += [f"{k}={v}" for k, v in fixed.items()]
        return " ".join(word for word in words if word)
