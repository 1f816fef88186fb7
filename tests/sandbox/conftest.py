"""Shared fixtures for the sandbox tests: one MNIST-1D cache and one warm pool per session."""

from __future__ import annotations

import os

import pytest
import torch

from archlab.sandbox.executor import make_executor
from archlab.sandbox.tasks import load_task
from sandbox_helpers import SECRET_NAME


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """MNIST-1D is generated once per test session, into a private cache folder."""
    return tmp_path_factory.mktemp("archlab-cache")


@pytest.fixture(scope="session")
def mnist1d(cache_dir):
    return load_task("mnist1d", cache_dir)


@pytest.fixture(scope="session")
def pool(cache_dir):
    """Two warm sandbox workers, shared by the pool tests (they also prove it survives failures).

    A fake secret is put in the environment first: the workers must not see it.
    """
    os.environ[SECRET_NAME] = "hunter2"
    try:
        executor = make_executor("mnist1d", workers=2, cache_dir=cache_dir, device="cpu")  # rlimits are CPU-only
    finally:
        del os.environ[SECRET_NAME]
    yield executor
    executor.close()
