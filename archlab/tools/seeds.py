"""Seed architectures for the first tasks, expressed as trees.

`mlp()`: the MNIST-1D MLP baseline (flatten, Linear 100, ReLU, Linear 100, ReLU;
with the automatic head: 15,210 params on input (1, 40)).
`mnist1d_cnn()`: the ConvBase of the MNIST-1D paper (Greydanus, 2020): three
conv layers of 25 channels, kernels 5/3/3, stride 2, padding 1, ReLU; with
the head Linear(125, 10): 5,210 params on input (1, 40).
`nb201(cell)`: one NAS-Bench-201 cell in the benchmark's CIFAR-10 network, by
its official string; by name `nb201` (every edge nor_conv_3x3) or `nb201:CELL`.
"""

from __future__ import annotations

from typing import Callable

from archlab.tools.errors import ArchError
from archlab.tools.ir import Arch, Node


def _n(op: str, children: list[Node] | None = None, **params: object) -> Node:
    return Node(op=op, params=params, children=children or [])


def mlp(hidden: int = 100) -> Arch:
    relu = {"fn": "relu"}
    return Arch(name="mlp", root=_n("seq", [
        _n("flatten"),
        _n("linear", out_features=hidden), _n("act", **relu),
        _n("linear", out_features=hidden), _n("act", **relu),
    ]))


def mnist1d_cnn(channels: int = 25) -> Arch:
    def conv(kernel: int) -> Node:
        return _n("conv", out_channels=channels, kernel=kernel, stride=2, padding=1)

    relu = _n("act", fn="relu")
    return Arch(name="mnist1d_cnn", root=_n("seq", [
        conv(5), relu, conv(3), relu, conv(3), relu, _n("flatten"),
    ]))


def nb201(cell: str | None = None) -> Arch:
    """A NAS-Bench-201 cell (the table task's search space); ArchError if the string is not a cell."""
    from archlab.tools.ops.nb201 import DEFAULT_CELL, validate_cell_string

    text = validate_cell_string(cell or DEFAULT_CELL)  # ArchError naming what is wrong
    return Arch(name="nb201", root=_n("nb201_cell", cell=text))


SEEDS: dict[str, Callable[[], Arch]] = {"mlp": mlp, "mnist1d_cnn": mnist1d_cnn, "nb201": nb201}


def by_name(name: str) -> Arch:
    """A seed by name (`mlp`, `mnist1d_cnn`, `nb201`, `nb201:CELL`), or ArchError listing the known ones."""
    if name.startswith("nb201:"):
        return nb201(name.split(":", 1)[1])
    try:
        return SEEDS[name]()
    except KeyError:
        raise ArchError(f"unknown seed {name!r}; known: {', '.join(sorted(SEEDS))}, nb201:CELL") from None
