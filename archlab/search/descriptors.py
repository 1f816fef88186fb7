"""MAP-Elites descriptors of a tree: where in the design space a candidate lies.

Parameter bucket (log2 of the validated parameter count), depth bucket (op
nodes that compute something) and dominant op family. A NAS-Bench-201 cell is
one node, so for it depth is the number of live edges and the family the most
frequent live edge op: otherwise every cell would share one grid cell.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from archlab.records import Result
from archlab.search.archive import Descriptor
from archlab.tools.ops.nb201 import DEFAULT_CELL, live_edges, parse_cell
from archlab.tools.ops.registry import OPS

# Families that shape nothing by themselves: ignored when finding the dominant one.
PASSIVE = frozenset({"composite", "act", "norm"})
CELL_FAMILY = {
    "nor_conv_3x3": "conv3x3",
    "nor_conv_1x1": "conv1x1",
    "avg_pool_3x3": "pool",
    "skip_connect": "skip",
}


def describe(arch: Any, result: Result) -> Descriptor:
    """The descriptor of an Arch (pydantic model or its JSON dict) with its Result."""
    root = arch["root"] if isinstance(arch, dict) else arch.root.model_dump()
    params = result.params
    bucket = int(math.log2(params)) if params else -1
    if root.get("op") == "nb201_cell":
        return _cell_descriptor(root, bucket)
    families: Counter[str] = Counter()
    depth = 0
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.get("children", []))
        spec = OPS.get(node["op"])
        family = spec.family if spec is not None else "mined"
        if family not in PASSIVE:
            families[family] += 1
            depth += 1
    dominant = min(families, key=lambda f: (-families[f], f)) if families else "none"
    return Descriptor(params_bucket=bucket, depth_bucket=min(depth // 2, 8), family=dominant)


def _cell_descriptor(root: dict[str, Any], bucket: int) -> Descriptor:
    cell = (root.get("params") or {}).get("cell", DEFAULT_CELL)
    ops = parse_cell(cell)
    live = [op for op, alive in zip(ops, live_edges(cell)) if alive]
    counts = Counter(CELL_FAMILY[op] for op in live)
    dominant = min(counts, key=lambda f: (-counts[f], f)) if counts else "zero"
    return Descriptor(params_bucket=bucket, depth_bucket=len(live), family=dominant)
