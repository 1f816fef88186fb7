"""Random valid trees for the property tests: seeds grown by random legal edits."""

from __future__ import annotations

import random

from archlab.tools import Arch, Node, apply, legal_edits, seeds

INPUT_SHAPES = [(1, 40), (3, 16), (2, 8, 8), (12,)]


def starter(input_shape: tuple[int, ...], rng: random.Random) -> Arch:
    """A small valid tree for the input kind."""
    if len(input_shape) == 1:
        return seeds.mlp(hidden=rng.choice([8, 16]))
    if len(input_shape) == 3:
        return Arch(root=Node(op="seq", children=[Node(op="conv", params={"out_channels": 8}), Node(op="act")]))
    return rng.choice([seeds.mnist1d_cnn(channels=8), seeds.mlp(hidden=16),
                       Arch(root=Node(op="seq", children=[Node(op="conv", params={"out_channels": 8})]))])


def grow(arch: Arch, input_shape: tuple[int, ...], rng: random.Random, steps: int,
         max_nodes: int = 40, donor: Arch | None = None) -> Arch:
    """Apply `steps` random legal edits (removing nodes once the tree passes `max_nodes`)."""
    for _ in range(steps):
        menu = legal_edits(arch, input_shape, donor=donor)
        if sum(1 for _ in _nodes(arch.root)) > max_nodes:
            menu = [e for e in menu if e.kind == "remove"] or menu
        arch = apply(arch, rng.choice(menu).sample(rng))
    return arch


def random_tree(seed: int, input_shape: tuple[int, ...], steps: int) -> Arch:
    rng = random.Random(seed)
    return grow(starter(input_shape, rng), input_shape, rng, steps)


def _nodes(node: Node):
    yield node
    for c in node.children:
        yield from _nodes(c)
