"""Trained weights leaving the sandbox: checked by the trusted parent before anyone may load them.

The child saves its `state_dict` with safetensors (plain tensors and a JSON
header, nothing executable, unlike pickle) and names its trainable parameters
in the header's metadata. The parent checks the bytes before they reach the
caller: a size cap, a header the safetensors library parses (offsets, dtypes
and sizes consistent), the parameter count against the trusted one, and, for
a tree of built-in ops, exactly the tensor names and shapes the trusted build
has (for a tree with mined ops: at least the built-in part's). Then it writes
the file atomically where the request asked.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from archlab.errors import one_line
from archlab.sandbox.costs import TrustedCosts
from archlab.sandbox.data import atomic_write

MAX_BYTES = 256 * 2**20  # one protocol frame (about 64 million float32 parameters)
BYTES_PER_ELEMENT_MAX = 8  # float64 is the widest dtype a sane checkpoint of this size carries
HEADER_SLACK = 1 << 20


class WeightsError(ValueError):
    """The weights file does not add up; `str()` is one line."""


def check_weights(data: bytes, trusted: TrustedCosts, claimed_params: int | None, scratch: Path) -> int:
    """The number of trainable parameters in `data` (safetensors bytes); WeightsError if it does not add up."""
    from safetensors import safe_open

    if not data:
        raise WeightsError("the weights file is missing or larger than the limit")
    if len(data) > MAX_BYTES:
        raise WeightsError(f"the weights file has {len(data):,} bytes (limit {MAX_BYTES:,})")
    with tempfile.NamedTemporaryFile(dir=scratch, suffix=".safetensors") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            with safe_open(tmp.name, framework="numpy") as fh:
                shapes = {key: tuple(fh.get_slice(key).get_shape()) for key in fh.keys()}
                metadata = fh.metadata() or {}
        except Exception as exc:  # SafetensorError and friends: an unparsable header
            raise WeightsError(f"the weights file is not valid safetensors: {one_line(exc, 200)}") from None
    try:
        declared = json.loads(metadata.get("archlab.parameters", "null"))
    except ValueError:
        declared = None
    if not isinstance(declared, list) or not all(isinstance(n, str) and n in shapes for n in declared):
        raise WeightsError("the weights file does not name its parameters among its tensors")
    params = sum(math.prod(shapes[name]) for name in set(declared))
    if trusted.exact:
        if shapes != trusted.shapes:
            raise WeightsError("the weights file's tensors differ from the tree's "
                               f"({len(shapes)} tensors, the tree has {len(trusted.shapes)})")
        if params != trusted.params:
            raise WeightsError(f"the weights file holds {params:,} parameters, the tree has {trusted.params:,}")
    else:
        missing = [k for k, shape in trusted.shapes.items() if shapes.get(k) != shape]
        if missing:
            raise WeightsError(f"the weights file lacks the tree's built-in tensor {missing[0]!r}")
        if params < trusted.params or (claimed_params is not None and params != claimed_params):
            raise WeightsError(f"the weights file holds {params:,} parameters; claimed {claimed_params}, "
                               f"the built-in part alone has {trusted.params:,}")
    if len(data) > BYTES_PER_ELEMENT_MAX * sum(math.prod(s) for s in shapes.values()) + HEADER_SLACK:
        raise WeightsError(f"the weights file has {len(data):,} bytes for its tensors: padded or corrupt")
    return params


def write_atomic(data: bytes, path: str | Path) -> Path:
    """Write `data` to `path` (folders made as needed) through a temporary file and a rename."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(target, lambda fh: fh.write(data))
