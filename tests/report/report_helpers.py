"""Helpers for the report tests that read campaign files independently of the report."""

from __future__ import annotations

import json
from pathlib import Path


def read_records(campaign: Path) -> list[dict]:
    """The raw record.json dicts, read without the report's loader."""
    return [json.loads(p.read_text()) for p in sorted((campaign / "experiments").glob("*/record.json"))]
