"""Coarse moves that grow a convolutional front on sequence inputs, for the agentic strategy.

Isolated here on purpose: issue 16 replaces these staged moves (which only the agentic
strategy has) with macro edits in the tools' menus that every strategy gets. Dropping
them is deleting this module and the three lines of agentic.py that call `StagedFront`.

Why: on a sequence task (MNIST-1D) an MLP that flattens its input first cannot
see local patterns, and under a parameter cap a single conv inserted before the
flatten usually breaks the cap (its output is flattened into a wide Linear). A
uniform choice among all legal edits therefore rarely reaches the convolutional
family in a short budget. The agentic strategy instead takes these steps, each
one an ordinary legal edit from the tools' menu, in the order a practitioner
would (the coder still chooses the width and kernel):

1. make room: narrow the first Linear after the flatten, when no conv block fits;
2. stem: insert a conv block (conv+norm+act, residual, repeated) before the flatten;
3. downsample: insert a pool after the convolutions, up to `POOLS` (halves the flattened width);
4. deepen: insert another conv block before the flatten, up to `DEPTH` conv layers;
5. widen: raise the narrowest conv's channels, up to `WIDE`.

After that the strategy's general diversity-guided choice takes over (widths,
dilations, activations, norms...). Menus are expanded to filled entries and
filtered to those that meet the parameter cap, so the coder never picks a
candidate that would be rejected untrained.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from archlab.search.archive import Entry
from archlab.search.proposal import Proposal, SearchConfig
from archlab.search.selection import ranked
from archlab.search.space import MoveSpace
from archlab.tools import Arch, Node

if TYPE_CHECKING:
    from archlab.search.guided_moves import MoveChooser

Fits = Callable[[Arch], bool]  # does a tree meet the caps? (see constraints.CapCheck)

CONV_OPS = frozenset({"conv", "sepconv"})
CONV_BLOCKS = ("block:conv_norm_act", "block:res_conv", "block:repeat_conv")
DEPTH = 3  # conv layers in a grown front
POOLS = 2  # pools in a grown front (40 -> 10 on MNIST-1D)
WIDE = 32  # channels of every conv in a grown front
MIN_LENGTH = 5  # do not pool below this length
STEM_PROBE_CHANNELS = 8  # the narrowest stem a Linear is narrowed to make room for
ROOM_CHOICES = 2  # widths offered by a make-room move
MAX_VARIANTS = 200  # an entry with more filled variants than this stays unfilled


@dataclass(frozen=True)
class StageMove:
    """One coarse move: the edit kind and place, the filled menu, and a one-line why."""

    kind: str
    path: str
    menu: list[Any]
    label: str


def conv_front(arch: Any) -> tuple[int | None, int, int]:
    """(index of the root's flatten, conv layers before it, pools before it); (None, 0, 0) if none."""
    children = arch.root.children if arch.root.op == "seq" else []
    flat = next((i for i, c in enumerate(children) if c.op == "flatten"), None)
    if flat is None:
        return None, 0, 0
    convs = sum(_count(c, CONV_OPS) for c in children[:flat])
    pools = sum(_count(c, {"pool"}) for c in children[:flat])
    return flat, convs, pools


def front_grown(arch: Any) -> bool:
    """Whether `arch` has a conv front of `DEPTH` conv layers and `POOLS` pools (widening may follow)."""
    _, convs, pools = conv_front(arch)
    return convs >= DEPTH and pools >= POOLS


def sizable(arch: Any) -> bool:
    """Whether the strategy may size `arch` itself: a tree using a mined op runs the coder's code
    when built, which only a sandbox may do, so staged moves (sized menus) never start from one."""
    stack = [arch.root]
    while stack:
        node = stack.pop()
        if node.op.startswith("mined."):
            return False
        stack.extend(node.children)
    return True


def growable(arch: Any) -> bool:
    """Whether `arch` has a conv front that is started (it may still deepen, pool or widen)."""
    return conv_front(arch)[1] > 0


def with_probe_stem(arch: Any) -> Any | None:
    """`arch` with the narrowest conv stem before its flatten (to ask whether one fits the cap)."""
    flat = conv_front(arch)[0]
    if flat is None:
        return None
    stem = Node(op="seq", children=[Node(op="conv", params={"out_channels": STEM_PROBE_CHANNELS, "kernel": 3,
                                                              "padding": "same"}), Node(op="act")])
    children = arch.root.children
    return arch.model_copy(update={"root": arch.root.model_copy(
        update={"children": [*children[:flat], stem, *children[flat:]]})})


def stage_move(arch: Any, input_shape: tuple[int, ...], menu_all: list[Any],
               fits: Callable[[Any], bool], fresh: Callable[[Any], bool],
               make_room: bool = True) -> StageMove | None:
    """The next coarse move of the conv front on `arch`, or None when the front is grown
    (or the tree is not a flatten-first pipeline on a sequence input). `fits` and `fresh`
    judge a child tree: within the caps, and a structure not seen yet. With `make_room`
    False, a tree whose stem does not fit gets None instead of a narrowing move."""
    if len(input_shape) != 2:
        return None
    flat, convs, pools = conv_front(arch)
    if flat is None:
        return None
    here = f"root.{flat}"
    if convs == 0:
        stem = _offer(arch, menu_all, "insert", here, CONV_BLOCKS, fits, fresh)
        if stem:
            return StageMove("insert", here, stem, "stem: a conv block before the flatten")
        return _make_room(arch, flat, menu_all, fits, fresh) if make_room else None
    # Conv blocks keep the length (padding 'same'); each pool halves it.
    if pools < min(convs, POOLS) and input_shape[-1] // 2 ** (pools + 1) >= MIN_LENGTH:
        pool = _offer(arch, menu_all, "insert", here, ("pool",), fits, fresh)
        if pool:
            return StageMove("insert", here, pool, "downsample: a pool after the convolutions")
    if convs < DEPTH:
        deeper = _offer(arch, menu_all, "insert", here, CONV_BLOCKS, fits, fresh)
        if deeper:
            return StageMove("insert", here, deeper, f"deepen: conv layer {convs + 1} of {DEPTH}")
    return _widen(arch, menu_all, fits, fresh)


def _widen(arch: Any, menu_all: list[Any], fits: Callable[[Any], bool],
           fresh: Callable[[Any], bool]) -> StageMove | None:
    """Widen the narrowest front conv (narrower than `WIDE`) to wider widths within the cap."""
    for path, width in sorted(_front_widths(arch).items(), key=lambda item: (item[1], item[0])):
        if width >= WIDE:
            break
        entries = [m for m in menu_all if m.kind == "set_param" and m.path == path
                   and m.fixed.get("param") == "out_channels"]
        wider = [v for m in entries for v in filled_variants(m) if int(v.fixed["out_channels"]) > width]
        wider = [v for v in wider if fresh(child := MoveSpace.apply_listed(arch, v)) and fits(child)]
        if wider:
            return StageMove("set_param", path, wider, f"widen: the {width}-channel conv at {path}")
    return None


def _front_widths(arch: Any) -> dict[str, int]:
    """Output channels of every conv before the root's flatten, by node path."""
    flat = conv_front(arch)[0]
    widths: dict[str, int] = {}

    def visit(node: Any, path: str) -> None:
        if node.op in CONV_OPS:
            widths[path] = int(node.params.get("out_channels", 0))
        for i, child in enumerate(node.children):
            visit(child, f"{path}.{i}")

    for i, child in enumerate(arch.root.children[: flat or 0]):
        visit(child, f"root.{i}")
    return widths


def filled_variants(edit: Any) -> list[Any]:
    """Every filled instance of `edit` over its listed domain values (itself if already filled,
    or if a domain is a range or the product is larger than MAX_VARIANTS)."""
    if edit.is_filled:
        return [edit]
    names = sorted(edit.free)
    values = [edit.free[n].values for n in names]
    if any(not v for v in values):
        return [edit]
    count = 1
    for v in values:
        count *= len(v)
    if count > MAX_VARIANTS:
        return [edit]
    return [edit.fill(dict(zip(names, combo))) for combo in itertools.product(*values)]


def _offer(arch: Any, menu_all: list[Any], kind: str, path: str, ops: tuple[str, ...],
           fits: Callable[[Any], bool], fresh: Callable[[Any], bool]) -> list[Any]:
    entries = [m for m in menu_all if m.kind == kind and m.path == path and m.fixed.get("op") in ops]
    offered = []
    for variant in (v for m in entries for v in filled_variants(m)):
        child = MoveSpace.apply_listed(arch, variant)
        if fresh(child) and fits(child):
            offered.append(variant)
    return offered


def _make_room(arch: Any, flat: int, menu_all: list[Any],
               fits: Callable[[Any], bool], fresh: Callable[[Any], bool]) -> StageMove | None:
    """Narrow the first Linear after the flatten: the `ROOM_CHOICES` widest widths that still
    let the narrowest conv stem fit (narrower ones only lose accuracy)."""
    children = arch.root.children
    linear = next((i for i in range(flat + 1, len(children)) if children[i].op == "linear"), None)
    if linear is None:
        return None
    path = f"root.{linear}"
    entries = [m for m in menu_all if m.kind == "set_param" and m.path == path
               and m.fixed.get("param") == "out_features"]
    roomy = []
    for variant in (v for m in entries for v in filled_variants(m)):
        narrowed = MoveSpace.apply_listed(arch, variant)
        probe = with_probe_stem(narrowed)
        if probe is not None and fresh(narrowed) and fits(probe):
            roomy.append(variant)
    roomy = sorted(roomy, key=lambda v: -int(v.fixed.get("out_features", 0)))[:ROOM_CHOICES]
    if not roomy:
        return None
    return StageMove("set_param", path, roomy, "make room: narrow the first Linear so a conv stem fits the cap")


def _count(node: Any, ops: set[str] | frozenset[str]) -> int:
    own = 1 if node.op in ops else 0
    times = int(node.params.get("n", 1)) if node.op == "repeat" else 1
    return own + times * sum(_count(c, ops) for c in node.children)


class StagedFront:
    """The agentic strategy's coarse move, made where it can be, until the best grown front is done.

    First on the best candidate whose front is started (downsample, deepen), then on the best
    one with room for a stem, else the chosen parent is narrowed to make room. Each is one
    ordinary legal edit; the coder picks its values."""

    def __init__(self, space: MoveSpace, fits: Fits, moves: MoveChooser) -> None:
        self.space, self.fits, self.moves = space, fits, moves

    @staticmethod
    def applies(config: SearchConfig, space: MoveSpace) -> bool:
        """Staged moves are for sequence inputs with every edit kind allowed."""
        return config.stages and space.kinds is None and len(space.input_shape) == 2

    def propose(self, step: int, rng: random.Random, parent: Entry, why: str,
                entries: Sequence[Entry]) -> Proposal | None:
        space, fits, fresh = self.space, self.fits, self.space.unseen
        order = [e for e in ranked(entries) if sizable(e.arch)]
        built = next((e for e in order if front_grown(e.arch)), None)
        if built is not None and stage_move(built.arch, space.input_shape, space.legal(built.arch), fits,
                                            fresh) is None:
            return None  # the best grown front has nothing left to widen within the cap
        started = [e for e in order if growable(e.arch)]
        roomy = [e for e in order if conv_front(e.arch) == (conv_front(e.arch)[0], 0, 0)
                 and (probe := with_probe_stem(e.arch)) is not None and fits(probe)]
        tries = [(e, False) for e in started + roomy] + ([(parent, True)] if sizable(parent.arch) else [])
        for target, make_room in tries:
            move = stage_move(target.arch, space.input_shape, space.legal(target.arch), fits, fresh,
                              make_room=make_room)
            if move is not None:
                break
        else:
            return None
        if target is not parent:
            why = f"coarse move on {target.id} (val {target.score:.4f}), where it can be made"
        default = self.moves.diverse_default(target.arch, move.kind, move.menu, rng)
        self.moves.used_place(move.kind, move.path)
        return Proposal(step=step, strategy="agentic", parent_ids=[target.id], parent_arch=target.arch,
                        edit_kind=move.kind, path=move.path, menu=move.menu, default=default,
                        note=f"{why}; {move.label} ({move.kind} at {move.path}, {len(move.menu)} entries in the cap)")
