"""Canonical form and structural hash of a tree.

Two trees that build the same computation hash equal: nested `seq`s are
flattened, a `seq` of one child is that child, `identity` inside a `seq`
vanishes, `repeat` with n=1 is its block, params are default-filled, keys are
sorted, and branches merged by addition are unordered (ops may add their own
rules through `OpSpec.canonical`). The label `Arch.name` is ignored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import ValidationError

from archlab.tools.errors import ArchError
from archlab.tools.ir import ROOT, Arch, Node, describe_validation_error
from archlab.tools.shapes import OpTable

_IDENTITY = {"op": "identity", "params": {}, "children": []}


def canonical(arch: Arch) -> dict[str, Any]:
    """The canonical JSON-able form of `arch` (raises ArchError on bad params)."""
    ops = OpTable(arch)
    sources = {name: hashlib.sha256(op.source.encode()).hexdigest()[:16] for name, op in arch.mined.items()}
    return _canon(arch.root, ROOT, ops, sources)


def _canon(node: Node, path: str, ops: OpTable, sources: dict[str, str]) -> Any:
    try:
        spec = ops.spec(node.op)
        params = spec.params.model_validate(node.params).model_dump(mode="json")
    except ValidationError as exc:
        raise ArchError(f"{path}: {node.op} params: {describe_validation_error(exc)}") from None
    except ValueError as exc:
        raise ArchError(f"{path}: {exc}") from None
    if node.op in sources:
        params = {**params, "__source_sha": sources[node.op]}
    kids = [_canon(c, f"{path}.{i}", ops, sources) for i, c in enumerate(node.children)]
    if node.op == "seq":
        flat: list[Any] = []
        for k in kids:
            if k.get("op") == "seq":
                flat.extend(k["children"])
            elif k != _IDENTITY:
                flat.append(k)
        if not flat:
            return _IDENTITY
        return flat[0] if len(flat) == 1 else {"op": "seq", "params": {}, "children": flat}
    if node.op == "repeat" and params.get("n") == 1:
        return kids[0]
    if spec.canonical is not None:
        return spec.canonical(params, kids)
    return {"op": node.op, "params": params, "children": kids}


def arch_hash(arch: Arch) -> str:
    """sha256 (hex) of the canonical form, with sorted keys and no whitespace."""
    text = json.dumps(canonical(arch), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
