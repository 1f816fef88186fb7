"""MAP-Elites descriptors of a tree: where in the design space a candidate lies.

Parameter bucket (log2 of the validated parameter count), depth bucket (op
nodes that compute something) and dominant op family. A tree in a closed cell
space is one node, so for it depth is the number of live slots and the family
the most frequent among their choices: otherwise every cell would share one
grid cell.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from archlab import tools
from archlab.records import Result
from archlab.search.archive import Descriptor
from archlab.tools import CellSpace
from archlab.tools.ops.registry import OPS

# Families that shape nothing by themselves: ignored when finding the dominant one.
PASSIVE = frozenset({"composite", "act", "norm"})


def describe(arch: Any, result: Result) -> Descriptor:
    """The descriptor of an Arch (pydantic model or its JSON dict) with its Result."""
    if isinstance(arch, dict):
        arch = tools.Arch.model_validate(arch)
    params = result.params
    bucket = int(math.log2(params)) if params else -1
    space = tools.cell_space(arch)
    if space is not None:
        return _cell_descriptor(space, arch.root.params, bucket)
    root = arch.root.model_dump()
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


def _cell_descriptor(space: CellSpace, params: dict[str, Any], bucket: int) -> Descriptor:
    live = space.live_choices(params)
    counts = Counter(space.families[choice] for choice in live)
    dominant = min(counts, key=lambda f: (-counts[f], f)) if counts else "zero"
    return Descriptor(params_bucket=bucket, depth_bucket=len(live), family=dominant)
