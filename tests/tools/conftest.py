"""Shared settings for the tools tests: one torch thread (the CI box has 2 cores)."""

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)
