"""Seed architectures for the first tasks, expressed as trees.

`mlp()`: the MNIST-1D MLP baseline (flatten, Linear 100, ReLU, Linear 100, ReLU;
with the automatic head: 15,210 params on input (1, 40)).
`mnist1d_cnn()`: the ConvBase of the MNIST-1D paper (Greydanus, 2020): three
conv layers of 25 channels, kernels 5/3/3, stride 2, padding 1, ReLU; with
the head Linear(125, 10): 5,210 params on input (1, 40).
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


SEEDS: dict[str, Callable[[], Arch]] = {"mlp": mlp, "mnist1d_cnn": mnist1d_cnn}


def by_name(name: str) -> Arch:
    """A seed by name (`mlp`, `mnist1d_cnn`), or ArchError listing the known ones."""
    try:
        return SEEDS[name]()
    except KeyError:
        raise ArchError(f"unknown seed {name!r}; known: {', '.join(sorted(SEEDS))}") from None
