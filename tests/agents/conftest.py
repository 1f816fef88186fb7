"""Fixtures for the agent tests."""

import pytest
from agents_helpers import cnn_menu, cnn_source


@pytest.fixture(scope="module")
def menu():
    return cnn_menu()


@pytest.fixture(scope="module")
def parent_source():
    return cnn_source()
