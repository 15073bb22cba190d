"""Knowledge base test fixtures: a real SQLite file under ``tmp_path`` and a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.memory import KnowledgeBase
from vigil.storage import Database

START = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)


class FixedClock:
    """A clock that only moves when told to (stand-in until ``vigil.testing.FakeClock``)."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._monotonic = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "state.db")
    yield database
    database.close()


@pytest.fixture
def kb(db: Database, clock: FixedClock) -> KnowledgeBase:
    return KnowledgeBase(db, clock)
