"""Fixtures for the reliability tests: a fake clock, a real SQLite state database, its store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.reliability import BreakerStore, retry
from vigil.storage import Database
from vigil.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "vigil.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = Database(db_path)
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> BreakerStore:
    return BreakerStore(db)


@pytest.fixture(autouse=True)
def _retry_waits_restored() -> Iterator[None]:
    """No test leaves the process-wide retry testing switch behind it."""
    yield
    retry.set_testing(False)
