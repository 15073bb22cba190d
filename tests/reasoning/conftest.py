"""Fixtures for the reasoning tests: a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reasoning.openai_server import OpenAIServer


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A running server; stopped (every thread joined) after the test, which fails on its bugs."""
    server = OpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
    assert not server.errors, server.errors[0]
