"""Typed tensor shapes (without the batch axis) that flow through a tree.

Kinds: `vector` (F,), `seq` (C, L), `image` (C, H, W), `tokens` (T, D). Input
shapes given by users are plain tuples; their kind follows from their rank.
Tokens never come from the user: they arise inside a tree (e.g. `to_tokens`).
"""

from __future__ import annotations

from math import prod
from typing import Literal, NamedTuple

from archlab.tools.errors import ArchError

Kind = Literal["vector", "seq", "image", "tokens"]

_KIND_BY_RANK: dict[int, Kind] = {1: "vector", 2: "seq", 3: "image"}


class TensorType(NamedTuple):
    """A hashable (kind, shape) pair; cheap to compare, used as a cache key."""

    kind: Kind
    shape: tuple[int, ...]

    @property
    def channels(self) -> int:
        """Feature axis size: F, C, C or D."""
        return self.shape[-1] if self.kind == "tokens" else self.shape[0]

    @property
    def spatial(self) -> tuple[int, ...]:
        """Axes a convolution or pool slides over (empty for vectors/tokens)."""
        return self.shape[1:] if self.kind in ("seq", "image") else ()

    @property
    def numel(self) -> int:
        return prod(self.shape)

    def with_channels(self, c: int) -> "TensorType":
        if self.kind == "tokens":
            return TensorType("tokens", (self.shape[0], c))
        return TensorType(self.kind, (c, *self.shape[1:]))

    def __str__(self) -> str:
        return f"{self.kind}{tuple(self.shape)}"


def input_type(input_shape: tuple[int, ...] | list[int]) -> TensorType:
    """Turn a user input shape (no batch axis) into a TensorType, or raise ArchError."""
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise ArchError(f"input shape must be a tuple of ints, got {input_shape!r}") from None
    if len(shape) not in _KIND_BY_RANK or any(s < 1 for s in shape):
        raise ArchError(
            f"input shape {shape} unsupported: use (F,), (C, L) or (C, H, W) with positive sizes"
        )
    return TensorType(_KIND_BY_RANK[len(shape)], shape)
