"""Edits: the legal menu of tree transformations, and applying one."""

from archlab.tools.edits.apply import apply
from archlab.tools.edits.enumerate import legal_edits
from archlab.tools.edits.model import EDIT_KINDS, Domain, Edit

__all__ = ["EDIT_KINDS", "Domain", "Edit", "apply", "legal_edits"]
