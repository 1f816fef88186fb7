"""Refreshing report.md/html during and after a run: a report problem never stops a campaign."""

from __future__ import annotations

import warnings
from pathlib import Path

from archlab.errors import one_line


def refresh_report(root: Path) -> tuple[Path, Path] | None:
    """Rebuild report.md/html; on a report error, warn and go on."""
    try:
        from archlab.report import build_report

        return build_report(root)
    except Exception as exc:  # the report room's bug must not cost the person their run
        warnings.warn(f"report not refreshed: {one_line(exc)}", stacklevel=2)
        return None
