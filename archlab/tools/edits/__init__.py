"""Edits: the legal menu of tree transformations (plain kinds and macro moves), and applying one."""

from archlab.tools.edits.apply import apply
from archlab.tools.edits.budget import SizeBudget
from archlab.tools.edits.enumerate import legal_edits
from archlab.tools.edits.model import ALL_KINDS, EDIT_KINDS, MACRO_KINDS, Domain, Edit

__all__ = ["ALL_KINDS", "EDIT_KINDS", "MACRO_KINDS", "Domain", "Edit", "SizeBudget", "apply", "legal_edits"]
