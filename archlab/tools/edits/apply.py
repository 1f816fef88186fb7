"""`apply`: perform one filled, legal edit and return the new tree.

Nothing is trusted: when the input shape is known (from the menu the edit
came from, or passed explicitly) the edit must match an entry of the current
legal menu, with every value inside its domain, and the result is validated
again; otherwise an EditError with a one-line reason is raised.
"""

from __future__ import annotations

from archlab.tools.errors import ArchError, EditError
from archlab.tools.ir import Arch
from archlab.tools.shapes import param_problems, validate

from archlab.tools.edits.enumerate import legal_edits
from archlab.tools.edits.model import Edit
from archlab.tools.edits.transform import transform


def apply(arch: Arch, edit: Edit, input_shape: tuple[int, ...] | None = None) -> Arch:
    """The tree after `edit`; EditError (one line) if the edit is unfilled or illegal."""
    if not isinstance(edit, Edit):
        raise EditError(f"apply needs an Edit, got {type(edit).__name__}")
    if not edit.is_filled:
        raise EditError(f"{edit.kind} at {edit.path}: free parameters {sorted(edit.free)} are not filled; "
                        "call fill() or sample() first")
    shape = input_shape if input_shape is not None else edit.input_shape
    if shape is not None and edit.kind != "crossover":
        menu = legal_edits(arch, tuple(shape), kinds=[edit.kind], path=edit.path)
        if not any(_matches(entry, edit) for entry in menu):
            raise EditError(f"not on the legal menu of this tree: {edit.describe()}")
    try:
        root = transform(arch, edit)
        new = Arch(root=root, mined=arch.mined, name=arch.name)
    except (ArchError, KeyError, TypeError, ValueError) as exc:
        raise EditError.failed(edit.kind, edit.path, exc) from None
    problems = validate(new, tuple(shape)) if shape is not None else param_problems(new)
    if problems:
        raise EditError(f"{edit.kind} at {edit.path} gives an invalid tree: {problems[0]}")
    return new


def _matches(entry: Edit, edit: Edit) -> bool:
    """Same kind, place and decided values, and every filled value inside the entry's domain."""
    if entry.kind != edit.kind or entry.path != edit.path:
        return False
    if set(edit.fixed) != set(entry.fixed) | set(entry.free):
        return False
    if any(edit.fixed[k] != v for k, v in entry.fixed.items()):
        return False
    return all(domain.contains(edit.fixed[name]) for name, domain in entry.free.items())
