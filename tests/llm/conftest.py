"""Fixtures for the model-layer tests."""

import pytest
from llm_helpers import ScriptedClient

from archlab.llm import TransportError


@pytest.fixture
def scripted():
    return ScriptedClient


@pytest.fixture
def transient():
    return lambda: TransportError("rate_limit: RateLimitError", retryable=True, kind="rate_limit")
