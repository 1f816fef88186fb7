"""Errors and warnings of the experiment memory.

Every message is one line that names what is wrong, so a person (or the
campaign log) can act on it without reading a traceback.
"""

from __future__ import annotations


class KnowledgeError(ValueError):
    """Bad input to the memory: an unreadable tree, an empty query, a bad filter."""


class CorruptRecordWarning(RuntimeWarning):
    """A record file in a campaign folder could not be read; it was skipped."""


class IndexRebuiltWarning(RuntimeWarning):
    """The Chroma index was missing or corrupt and was started afresh."""

