"""Shared fixtures: one dataset cache per test session, tiny settings, torch on one thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from archlab.campaign import CampaignSettings

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """The ordinary dataset cache (ARCHLAB_CACHE or ~/.cache/archlab): MNIST-1D is made once."""
    from archlab.sandbox.tasks import default_cache_dir

    return default_cache_dir()


@pytest.fixture
def settings(cache_dir: Path) -> CampaignSettings:
    return CampaignSettings(workers=2, embedder="hashing", cache_dir=cache_dir, report_every_s=3600, write_report=False,
                            recipe_overrides={"steps": 30, "eval_every": 10}, eval_time_s=120)
