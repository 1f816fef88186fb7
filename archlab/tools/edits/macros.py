"""Macro moves: the composite steps a practitioner takes to grow a network, as menu entries.

Every strategy draws from the same menu, so the moves that turn an MLP into a
small CNN must be on it, each as ONE legal edit whose every domain value gives a
valid tree (and, under a size budget, a child that fits it). They act around a
*neck*: a `flatten` or `gap` that turns a sequence `(C, L)` or image `(C, H, W)`
into a vector, inside a seq (or the end of the root seq when the automatic head
flattens). What is before the neck in that seq is its *front*.

- `stem` (front without a conv): insert a conv stage `seq(conv, norm, act[, pool])`
  before the neck. `pool` (fixed per entry: 1, 2, 4, 8) shrinks what is flattened by
  that factor per spatial axis. If a Linear follows the neck in the seq (`room`),
  `hidden` sets its width in the same move (make room): the flattened width changes
  anyway, so the Linear that reads it is the natural place to pay for the conv.
- `deepen` (front with a conv): the same conv stage (`pool` 1 or 2) before the neck;
  on a tree whose root outputs a vector, also `seq(linear, act)` at the end of the root.
- `downsample` (front with a conv): a pool before the neck (`kernel` = stride 2..4,
  `mode` max or avg); it only shrinks the model. No pool leaves an axis below 2.
- `widen`: raise the width of a conv, sepconv or linear (`out_channels`/`out_features`).
- `make_room`: lower the width of a linear.

Under a `SizeBudget` the conv stages are *sized*: for each pool factor, `hidden`
is fixed to the widest width (the current one first) at which the stage fits with
`out_channels` up to `SIZED_WIDTH` (or, failing that, as wide as anything fits),
and `out_channels` lists the widths that fit with every kernel. The other macro
entries (and every plain entry) are narrowed by `BudgetCheck.restrict`. Without a
budget `hidden` is free (the current width and every narrower one), so each sized
entry is a subset of the unsized one and `apply` accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Protocol

from archlab.tools.ir import ROOT, Node, child_path, iter_nodes
from archlab.tools.ops.spec import WIDTHS
from archlab.tools.shapes import Entry, Shapes
from archlab.tools.tensors import TensorType

from archlab.tools.edits.budget import BudgetCheck
from archlab.tools.edits.fits import Fits
from archlab.tools.edits.macro_nodes import conv_stage, with_stage
from archlab.tools.edits.model import MACRO_KINDS, Domain, Edit

STAGE_POOLS: dict[str, tuple[int, ...]] = {"stem": (1, 2, 4, 8), "deepen": (1, 2)}
STAGE_KERNELS: tuple[int, ...] = (3, 5, 7)
DOWNSAMPLE_KERNELS: tuple[int, ...] = (2, 3, 4)
MIN_SPATIAL = 2  # no macro pool leaves a spatial axis shorter than this (a global pool is `gap`)
SIZED_WIDTH = 32  # a budgeted conv stage makes room for this many channels where it can
NECKS = ("flatten", "gap")
SPATIAL = ("seq", "image")
WIDTH_PARAM: dict[str, str] = {"conv": "out_channels", "sepconv": "out_channels", "linear": "out_features"}


class MenuParts(Protocol):
    """What the macro builder uses of the menu under construction (enumerate._Menu)."""

    shapes: Shapes
    fits: Fits

    def edit(self, kind: str, path: str, fixed: dict[str, Any], free: dict[str, Domain] | None = None) -> Edit: ...
    def domain(self, values: list[Any]) -> Domain: ...
    def wants(self, path: str) -> bool: ...
    def set_param(self, path: str, entry: Entry) -> Iterable[Edit]: ...


@dataclass(frozen=True)
class Neck:
    """A flatten/gap of a spatial tensor in a single-context seq (or the root's end)."""

    seq: str  # path of the seq
    index: int  # position of the neck in it (len(children) for the head's flatten)
    t: TensorType  # what the neck receives
    has_conv: bool  # whether the front before it holds a conv
    room: int | None  # index of the first linear after the neck in the seq

    @property
    def where(self) -> str:
        return child_path(self.seq, self.index)


# ---- the menu entries ------------------------------------------------------------------------

class Macros:
    """Macro entries of one tree (see the module docstring); `budget` sizes and filters them."""

    def __init__(self, menu: MenuParts, budget: BudgetCheck | None) -> None:
        self.menu = menu
        self.shapes = menu.shapes
        self.fits = menu.fits
        self.budget = budget

    def collect(self, wanted: set[str]) -> dict[str, list[Edit]]:
        out: dict[str, list[Edit]] = {k: [] for k in MACRO_KINDS}
        necks = self.necks()
        for neck in necks:
            kind = "deepen" if neck.has_conv else "stem"
            if kind in wanted and self.menu.wants(neck.where):
                out[kind].extend(self.stages(kind, neck))
            if "downsample" in wanted and neck.has_conv and self.menu.wants(neck.where):
                out["downsample"].extend(self.downsample(neck))
        if "deepen" in wanted:
            out["deepen"].extend(self.dense_deepen())
        if wanted & {"widen", "make_room"}:
            for kind, entry in self.widths():
                if kind in wanted:
                    out[kind].append(entry)
        if self.budget is not None:
            for kind in ("downsample", "widen", "make_room"):
                out[kind] = self._restricted(out[kind])
            out["deepen"] = [e for e in out["deepen"] if e.fixed["op"] != "linear"] + self._restricted(
                [e for e in out["deepen"] if e.fixed["op"] == "linear"])
        return out

    def _restricted(self, entries: list[Edit]) -> list[Edit]:
        assert self.budget is not None
        kept = (self.budget.restrict(e, self.menu.domain) for e in entries)
        return [e for e in kept if e is not None]

    # -- where ----------------------------------------------------------------------------
    def necks(self) -> list[Neck]:
        found = []
        for path, entry in self.shapes.entries.items():
            node = entry.node
            if node.op != "seq" or not self.fits.single(path):
                continue
            places = [i for i, c in enumerate(node.children) if c.op in NECKS]
            if path == ROOT and entry.outs[0].kind in SPATIAL:
                places.append(len(node.children))  # the automatic head flattens here
            for i in places:
                t = self.fits.insert_input(path, i)
                if t.kind not in SPATIAL:
                    continue
                has_conv = any(self.shapes.ops.spec(n.op).family == "conv"
                               for c in node.children[:i] for _, n in iter_nodes(c))
                room = next((j for j in range(i + 1, len(node.children)) if node.children[j].op == "linear"), None)
                found.append(Neck(path, i, t, has_conv, room))
        return found

    # -- stem / deepen: a conv stage before the neck ---------------------------------------
    def stages(self, kind: str, neck: Neck) -> list[Edit]:
        seq = self.shapes.entries[neck.seq].node
        pools = [p for p in STAGE_POOLS[kind] if all(s // p >= MIN_SPATIAL for s in neck.t.spatial)]
        room_path = child_path(neck.seq, neck.room) if neck.room is not None else None
        hiddens: list[int | None] = [None]
        if room_path is not None:
            # Types after the room Linear depend only on its width: check it alone (as set_param does).
            room_out = self.shapes.entries[room_path].outs[0]
            current = room_out.channels
            hiddens = [h for h in sorted({current, *(w for w in WIDTHS if w < current)})
                       if h == current or self.fits.output_change(room_path, room_out.with_channels(h))]
        entries = []
        for pool in pools:
            # Up to the room Linear (which takes any width) types depend only on the channels.
            widths = [c for c in WIDTHS if self._stage_valid(neck, c, pool)]
            if not widths:
                continue
            fixed: dict[str, Any] = {"op": "conv", "pool": pool, **({"room": room_path} if room_path else {})}
            free = {"out_channels": widths, "kernel": list(STAGE_KERNELS), **({"hidden": hiddens} if room_path else {})}
            if self.budget is not None:
                sized = self._size(neck, seq, pool, widths, hiddens)
                if sized is None:
                    continue
                hidden, widths = sized
                free = {"out_channels": widths, "kernel": list(STAGE_KERNELS)}
                fixed = {**fixed, **({"hidden": hidden} if room_path else {})}
            entries.append(self.menu.edit(kind, neck.where, fixed, {k: self.menu.domain(v) for k, v in free.items()}))
        return entries

    def _stage_seq(self, neck: Neck, seq: Node, c: int, k: int, pool: int, hidden: int | None) -> Node:
        return with_stage(seq, neck.index, conv_stage(c, k, pool), neck.room, hidden)

    def _stage_valid(self, neck: Neck, c: int, pool: int) -> bool:
        """Is the tree valid with a `c`-channel stage at the neck? ('same' padding: the kernel never matters)."""
        out = self.shapes.infer_or_none(conv_stage(c, STAGE_KERNELS[0], pool), neck.t)
        return out is not None and self.fits.insert_type(neck.seq, neck.index, out)

    def _size(self, neck: Neck, seq: Node, pool: int, widths: list[int],
              hiddens: list[int | None]) -> tuple[int | None, list[int]] | None:
        """(hidden, widths that fit with every kernel) for the widest hidden that admits
        `SIZED_WIDTH` channels, or else the most channels; None when no stage fits. Widths are
        taken narrowest first up to the first that does not fit (a subset is always safe)."""
        assert self.budget is not None
        counter, cap = self.budget.counter, self.budget.budget.max_params
        k0 = STAGE_KERNELS[0]
        # The kernel changes only the stage's own weights: count the tree once per (width, hidden).
        extra = {c: max(counter.subtree(conv_stage(c, k, pool), neck.t)[0] for k in STAGE_KERNELS)
                 - counter.subtree(conv_stage(c, k0, pool), neck.t)[0] for c in widths}
        best: tuple[int | None, list[int]] | None = None
        for hidden in sorted(hiddens, key=lambda h: -(h or 0)):
            fitting = []
            for c in widths:  # narrowest first; stop at the first width that breaks the budget
                if self.budget.replaced_params(neck.seq, self._stage_seq(neck, seq, c, k0, pool, hidden)) + extra[c] > cap:
                    break
                fitting.append(c)
            if fitting and max(fitting) >= SIZED_WIDTH:
                return hidden, fitting
            if fitting and (best is None or max(fitting) > max(best[1])):
                best = (hidden, fitting)
        return best

    # -- downsample --------------------------------------------------------------------------
    def downsample(self, neck: Neck) -> list[Edit]:
        kernels = []
        for k in DOWNSAMPLE_KERNELS:
            if any(s // k < MIN_SPATIAL for s in neck.t.spatial):
                continue
            out = neck.t._replace(shape=(neck.t.channels, *(s // k for s in neck.t.spatial)))
            if self.fits.insert_type(neck.seq, neck.index, out):
                kernels.append(k)
        if not kernels:
            return []
        return [self.menu.edit("downsample", neck.where, {"op": "pool"},
                               {"kernel": self.menu.domain(kernels), "mode": self.menu.domain(["max", "avg"])})]

    # -- deepen the dense part -----------------------------------------------------------------
    def dense_deepen(self) -> list[Edit]:
        entry = self.shapes.entries[ROOT]
        if entry.node.op != "seq" or entry.outs[0].kind != "vector":
            return []
        where = child_path(ROOT, len(entry.node.children))
        if not self.menu.wants(where):
            return []
        t = entry.outs[0]
        widths = [w for w in WIDTHS if self.fits.insert_type(ROOT, len(entry.node.children), t.with_channels(w))]
        if not widths:
            return []
        return [self.menu.edit("deepen", where, {"op": "linear"}, {"out_features": self.menu.domain(widths)})]

    # -- widen / make room -----------------------------------------------------------------------
    def widths(self) -> Iterable[tuple[str, Edit]]:
        """Wider (`widen`) and, for linears, narrower (`make_room`) widths, from the exact
        `set_param` domains of the same nodes."""
        for path, entry in self.shapes.entries.items():
            param = WIDTH_PARAM.get(entry.node.op)
            if param is None:
                continue
            current = getattr(self.shapes.params(entry.node), param)
            for e in self.menu.set_param(path, entry):
                if e.fixed["param"] != param:
                    continue
                values = e.free[param].values or []
                wider = [v for v in values if v > current]
                narrower = [v for v in values if v < current]
                fixed = {"op": entry.node.op, "param": param}
                if wider:
                    yield "widen", self.menu.edit("widen", path, fixed, {param: self.menu.domain(wider)})
                if narrower and entry.node.op == "linear":
                    yield "make_room", self.menu.edit("make_room", path, fixed, {param: self.menu.domain(narrower)})
