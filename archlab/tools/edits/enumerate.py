"""`legal_edits`: the menu of every legal edit of a tree, with exact domains.

Every value of every domain gives a valid tree; the property tests apply
random menu entries to random trees to hold this to account. Domains may be
a subset of what would be valid (insert, replace and add_branch are offered
only where a node is inferred once, i.e. not inside a multi-copy `repeat`);
they are never a superset.
"""

from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from archlab.tools.errors import ArchError, EditError, ShapeError
from archlab.tools.ir import ROOT, Arch, Node, child_path, iter_nodes
from archlab.tools.ops.composite import projection_problem
from archlab.tools.ops.spec import OpSpec
from archlab.tools.shapes import Children, Entry, Shapes, checked_shapes
from archlab.tools.tensors import TensorType

from archlab.tools.edits.blocks import BLOCKS, Block, block_variants
from archlab.tools.edits.budget import BudgetCheck, SizeBudget
from archlab.tools.edits.fits import Fits
from archlab.tools.edits.macros import Macros
from archlab.tools.edits.model import ALL_KINDS, EDIT_KINDS, MACRO_KINDS, Domain, Edit, trusted_model
from archlab.tools.edits.variants import Variants, compute_variants, with_value

# Params edited by their own kinds rather than set_param.
SWAP_KIND: dict[tuple[str, str], str] = {("act", "fn"): "swap_act", ("norm", "kind"): "swap_norm"}
MAX_DONOR_SUBTREES = 48  # crossover: distinct donor subtrees considered, in pre-order
# Keep the menu meaningful (and a 1,000-node menu fast): which ops may replace
# which, what may become a parallel branch, and which nodes may grow one.
REPLACE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"conv", "sepconv", "attention", "gru", "linear", "se", "pool"}),
    frozenset({"flatten", "gap", "to_tokens"}),
)
BRANCH_OPS = frozenset({"conv", "sepconv", "linear", "attention", "gru", "pool"})
NO_BRANCH_AT = frozenset({"identity", "seq", "act", "norm", "dropout", "flatten", "gap", "to_tokens"})


def legal_edits(arch: Arch, input_shape: tuple[int, ...], *, donor: Arch | None = None,
                kinds: Iterable[str] | None = None, path: str | None = None, macros: bool = False,
                budget: SizeBudget | None = None) -> list[Edit]:
    """The legal menu of `arch` on `input_shape`, optionally only `kinds` and/or at `path`.

    By default the plain kinds (EDIT_KINDS); `macros=True` adds the macro moves
    (MACRO_KINDS: stem, downsample, deepen, widen, make_room; see macros.py), and
    naming a kind in `kinds` lists it either way. With a `budget`, every entry is
    narrowed to values whose children fit it (see budget.py) and the conv stages
    are sized to fit. `crossover` entries appear only when a `donor` is given.
    Entries are ordered by kind (EDIT_KINDS, then MACRO_KINDS), then tree order.
    Raises EditError when the tree itself is invalid or a kind is unknown.
    """
    wanted = set(EDIT_KINDS + (MACRO_KINDS if macros else ())) if kinds is None else set(kinds)
    unknown = sorted(wanted - set(ALL_KINDS))
    if unknown:
        raise EditError(f"unknown edit kind {unknown[0]!r}; kinds: {', '.join(ALL_KINDS)}")
    if budget is not None and not isinstance(budget, SizeBudget):
        raise EditError(f"budget must be a SizeBudget, got {type(budget).__name__}")
    try:
        shapes = checked_shapes(arch, input_shape)
    except ArchError as exc:
        raise EditError(f"cannot list edits: {exc}") from None
    with _gc_paused():
        return _Menu(shapes, path, BudgetCheck(shapes, budget) if budget is not None else None).collect(wanted, donor)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a menu is built.

    A 1,000-node menu allocates ~100k small acyclic objects; without the pause
    the collector rescans the growing heap again and again (~30% of the time).
    Nothing here creates cycles, and the previous state is always restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Menu:
    def __init__(self, shapes: Shapes, path: str | None, budget: BudgetCheck | None = None) -> None:
        self.shapes = shapes
        self.budget = budget
        self.fits = Fits(shapes)
        self.only = path
        self.input_shape = list(shapes.t_in.shape)
        self._variants: dict[tuple[str, TensorType], Variants | None] = {}
        self._insertable: list[OpSpec] = [s for s in shapes.ops.specs() if s.insert_free is not None and s.is_leaf]
        self._branch_ops = [s for s in self._insertable if s.name in BRANCH_OPS or s.family == "mined"]
        self._insert_candidates: list[OpSpec | Block] = [*self._insertable, *BLOCKS]
        self._domains: dict[tuple[Any, ...], Domain] = {}
        self._offers: dict[tuple[Any, ...], list[tuple[dict[str, Any], dict[str, Domain]]]] = {}

    def edit(self, kind: str, path: str, fixed: dict[str, Any], free: dict[str, Domain] | None = None) -> Edit:
        return trusted_model(Edit, kind=kind, path=path, fixed=fixed, free=free or {},
                             input_shape=self.input_shape)

    def domain(self, values: list[Any]) -> Domain:
        """Domains are immutable: share one object per distinct value list."""
        key = tuple((type(v), v) for v in values)
        found = self._domains.get(key)
        if found is None:
            found = self._domains[key] = Domain.trusted(values)
        return found

    def replacements(self, op: str) -> list[OpSpec]:
        group = next((g for g in REPLACE_GROUPS if op in g), None)
        if group is None and not op.startswith("mined."):
            return []
        group = group or REPLACE_GROUPS[0]
        return [s for s in self._insertable if s.name != op and (s.name in group or s.family == "mined")]

    def wants(self, path: str) -> bool:
        return self.only is None or self.only == path

    def variants(self, spec: OpSpec | Block, t: TensorType) -> Variants | None:
        key = (spec.name, t)
        if key not in self._variants:
            self._variants[key] = (block_variants(spec, t, self.shapes.infer) if isinstance(spec, Block)
                                   else compute_variants(spec, t))
        return self._variants[key]

    def collect(self, wanted: set[str], donor: Arch | None) -> list[Edit]:
        by_kind: dict[str, list[Edit]] = {k: [] for k in ALL_KINDS}
        makers: dict[str, Callable[[str, Entry], Iterable[Edit]]] = {
            "insert": self.insert, "remove": self.remove, "replace": self.replace,
            "set_param": self.set_param, "wrap_residual": self.wrap_residual,
            "add_branch": self.add_branch, "swap_act": self.swap_act, "swap_norm": self.swap_norm,
            "cell_edge": self.extra,
        }
        donor_nodes = _donor_subtrees(donor) if donor is not None and "crossover" in wanted else []
        for path, entry in self.shapes.entries.items():
            for kind in EDIT_KINDS:
                if kind in wanted and kind in makers:
                    by_kind[kind].extend(makers[kind](path, entry))
            if donor_nodes:
                by_kind["crossover"].extend(self.crossover(path, entry, donor_nodes))
        if self.budget is not None:
            for kind in EDIT_KINDS:
                kept = (self.budget.restrict(e, self.domain) for e in by_kind[kind])
                by_kind[kind] = [e for e in kept if e is not None]
        if wanted & set(MACRO_KINDS):
            by_kind.update(Macros(self, self.budget).collect(wanted))
        return [e for k in ALL_KINDS for e in by_kind[k]]

    # -- per-kind makers -------------------------------------------------------------
    def set_param(self, path: str, entry: Entry) -> Iterable[Edit]:
        if not self.wants(path):
            return
        node = entry.node
        spec = self.shapes.ops.spec(node.op)
        p = self.shapes.params(node)
        for name, candidates in spec.domains.items():
            if (node.op, name) in SWAP_KIND:
                continue
            current = getattr(p, name)
            ok = [v for v in candidates if not _same_value(v, current)
                  and self._param_fits(path, entry, spec, p, name, v)]
            if ok:
                yield self.edit("set_param", path, {"op": node.op, "param": name}, {name: self.domain(ok)})

    def _param_fits(self, path: str, entry: Entry, spec: OpSpec, p: Any, name: str, value: Any) -> bool:
        node = entry.node
        if not self.fits.single(path):
            return self.fits.replace(path, node.model_copy(update={"params": {**node.params, name: value}}))
        children = Children(lambda i, t: self.shapes.infer(node.children[i], t), len(node.children))
        try:
            out = spec.shape(with_value(p, name, value), entry.ins[0], children)
        except ShapeError:
            return False
        return self.fits.output_change(path, out)

    def _swap(self, kind: str, op: str, param: str, path: str, entry: Entry) -> Iterable[Edit]:
        if entry.node.op != op or not self.wants(path):
            return
        spec = self.shapes.ops.spec(op)
        p = self.shapes.params(entry.node)
        current = getattr(p, param)
        ok = []
        for v in spec.domains[param]:
            if v == current:
                continue
            try:
                if all(spec.shape(with_value(p, param, v), t, None) == o
                       for t, o in zip(entry.ins, entry.outs)):
                    ok.append(v)
            except ShapeError:
                continue
        if ok:
            yield self.edit(kind, path, {"op": op}, {param: self.domain(ok)})

    def swap_act(self, path: str, entry: Entry) -> Iterable[Edit]:
        return self._swap("swap_act", "act", "fn", path, entry)

    def swap_norm(self, path: str, entry: Entry) -> Iterable[Edit]:
        return self._swap("swap_norm", "norm", "kind", path, entry)

    def insert(self, path: str, entry: Entry) -> Iterable[Edit]:
        if entry.node.op != "seq" or not self.fits.single(path):
            return
        for index in range(len(entry.node.children) + 1):
            where = child_path(path, index)
            if not self.wants(where):
                continue
            t = self.fits.insert_input(path, index)
            accept = (lambda i: lambda out: self.fits.insert_type(path, i, out))(index)
            for fixed, free in self.offers(self._insert_candidates, t, accept):
                yield self.edit("insert", where, dict(fixed), dict(free))

    def offers(self, specs: list[OpSpec] | list[OpSpec | Block], t: TensorType,
               accept: Callable[[TensorType], bool]) -> list[tuple[dict[str, Any], dict[str, Domain]]]:
        """(fixed, free) of each op in `specs` placed on input `t` where outputs must pass `accept`.

        Places with the same input type that accept the same output types get the
        same offers, so they are computed once per (ops, type, accepted outputs).
        """
        variants = [(s, self.variants(s, t)) for s in specs]
        outs = {o for _, v in variants if v is not None for o in v.outputs()}
        accepted = frozenset(o for o in outs if accept(o))
        key = (tuple(s.name for s in specs), t, accepted)
        found = self._offers.get(key)
        if found is None:
            found = []
            for spec, v in variants:
                free = v.free_domains(accepted.__contains__, self.domain) if v is not None else None
                if free is not None:
                    fixed = {"op": f"block:{spec.name}"} if isinstance(spec, Block) else {"op": spec.name, **v.defaults}  # type: ignore[union-attr]
                    found.append((fixed, free))
            self._offers[key] = found
        return found

    def replace(self, path: str, entry: Entry) -> Iterable[Edit]:
        node = entry.node
        if not self.wants(path) or node.children or not self.fits.single(path):
            return
        accept = (lambda out: self.fits.output_change(path, out))
        for fixed, free in self.offers(self.replacements(node.op), entry.ins[0], accept):
            yield self.edit("replace", path, dict(fixed), dict(free))

    def remove(self, path: str, entry: Entry) -> Iterable[Edit]:
        if path == ROOT or not self.wants(path):
            return
        parent = self.shapes.entries[entry.parent]  # type: ignore[index]
        if parent.node.op in ("seq", "parallel") and self.fits.remove(path):
            yield self.edit("remove", path, {"op": entry.node.op})

    def wrap_residual(self, path: str, entry: Entry) -> Iterable[Edit]:
        if not self.wants(path) or entry.node.op in ("identity", "residual"):
            return
        if any(projection_problem(t, o) for t, o in zip(entry.ins, entry.outs) if t != o):
            return
        yield self.edit("wrap_residual", path, {"op": entry.node.op})

    def add_branch(self, path: str, entry: Entry) -> Iterable[Edit]:
        node = entry.node
        if not self.wants(path) or node.op in NO_BRANCH_AT or not self.fits.single(path):
            return
        t, o = entry.ins[0], entry.outs[0]
        merges = [self.shapes.params(node).merge] if node.op == "parallel" else ["add", "concat"]  # type: ignore[attr-defined]
        for merge in merges:
            accept = _cached((lambda m: lambda b: self._branch_fits(path, o, b, m))(merge))
            if accept(t):  # an identity branch
                yield self.edit("add_branch", path, {"op": "identity", "merge": merge})
            for fixed, free in self.offers(self._branch_ops, t, accept):
                yield self.edit("add_branch", path, {**fixed, "merge": merge}, dict(free))

    def _branch_fits(self, path: str, o: TensorType, branch: TensorType, merge: str) -> bool:
        if merge == "add":
            return branch == o
        same_positions = branch.kind == o.kind and (
            branch.shape[:-1] == o.shape[:-1] if o.kind == "tokens" else branch.spatial == o.spatial)
        return same_positions and self.fits.output_change(path, o.with_channels(o.channels + branch.channels))

    def crossover(self, path: str, entry: Entry, donor_nodes: list[tuple[str, Node, dict[str, Any]]]) -> Iterable[Edit]:
        if not self.wants(path) or not self.fits.single(path):
            return
        own = None
        ok: dict[str, dict[str, Any]] = {}
        for dpath, dnode, ddict in donor_nodes:
            out = self.shapes.infer_or_none(dnode, entry.ins[0])
            if out is None or not self.fits.output_change(path, out):
                continue
            if own is None:
                own = entry.node.model_dump()
            if ddict != own:
                ok[dpath] = ddict
        if ok:
            yield self.edit("crossover", path, {"subtrees": ok}, {"donor_path": self.domain(list(ok))})

    def extra(self, path: str, entry: Entry) -> Iterable[Edit]:
        """Op-specific edits (e.g. `cell_edge` of the NB201 cell) through `OpSpec.extra_edits`."""
        spec = self.shapes.ops.spec(entry.node.op)
        if spec.extra_edits is None or not self.wants(path):
            return
        for e in spec.extra_edits(path, entry.node, self.shapes.params(entry.node), entry.ins[0]):
            # Ops may return cached edits that already carry the input shape: no copy then.
            yield e if e.input_shape == self.input_shape else e.model_copy(update={"input_shape": self.input_shape})


def _donor_subtrees(donor: Arch) -> list[tuple[str, Node, dict[str, Any]]]:
    """Distinct subtrees of the donor (pre-order, at most MAX_DONOR_SUBTREES)."""
    seen: set[str] = set()
    out = []
    for dpath, dnode in iter_nodes(donor.root):
        key = json.dumps(dnode.model_dump(), sort_keys=True)
        if key in seen or dnode.op in donor.mined:
            continue
        seen.add(key)
        out.append((dpath, dnode, dnode.model_dump()))
        if len(out) >= MAX_DONOR_SUBTREES:
            break
    return out


def _cached(check: Callable[[TensorType], bool]) -> Callable[[TensorType], bool]:
    memo: dict[TensorType, bool] = {}

    def cached(t: TensorType) -> bool:
        if t not in memo:
            memo[t] = check(t)
        return memo[t]

    return cached


def _same_value(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)
