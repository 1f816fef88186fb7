"""Synthetic campaign folders shared by the report tests (no training, no torch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archlab.report import build_report
from demo_campaign import make_demo_campaign


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A finished 30-experiment campaign with its report built once: (folder, md, html)."""
    folder = make_demo_campaign(tmp_path_factory.mktemp("demo") / "agentic", strategy="agentic", n_experiments=30)
    markdown, html = build_report(folder)
    return folder, markdown, html
