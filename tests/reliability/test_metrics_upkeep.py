"""The daemon's metric chores: sample every 15 s, flush every minute, compact hourly."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.reliability.metrics import Metrics, MetricsUpkeep, ensure_schema, report
from vigil.reliability.resources import ResourceSampler
from vigil.storage import Database
from vigil.testing import FakeClock


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "vigil.db")
    yield database
    database.close()


def _stored(db: Database) -> int:
    row = db.query_one("SELECT COALESCE(SUM(count), 0) FROM metric_rollups WHERE name = ?", ("x",))
    return int(row[0]) if row else 0


class _Enough(Exception):
    pass


async def test_the_component_samples_flushes_and_beats(db: Database, tmp_path: Path) -> None:
    """Run as a supervised component, it samples resources each round, flushes at once and then
    once a minute, and beats after every round."""
    clock = FakeClock()
    metrics = Metrics(clock)
    upkeep = MetricsUpkeep(metrics, db, clock, ResourceSampler(clock, tmp_path))
    metrics.count("x", 3)
    beats: list[tuple[float, int]] = []
    origin = clock.monotonic()

    def beat() -> None:
        beats.append((clock.monotonic() - origin, _stored(db)))
        metrics.count("x")
        if len(beats) == 5:
            raise _Enough

    with pytest.raises(_Enough):
        await upkeep(beat)

    assert beats == [(0.0, 3), (15.0, 3), (30.0, 3), (45.0, 3), (60.0, 7)]
    data = report(db, clock.now())
    assert data["resources"]["rss_bytes"] > 0
    assert any(m["name"] == "process_rss_bytes" for m in data["metrics"])


async def test_rounds_within_the_minute_write_nothing_and_close_flushes_the_rest(
    db: Database,
) -> None:
    """After the first round's flush, rounds within the minute write nothing; the final flush
    at shutdown writes the rest."""
    clock = FakeClock()
    metrics = Metrics(clock)
    upkeep = MetricsUpkeep(metrics, db, clock)
    metrics.count("x", 2)
    await upkeep.tick()
    assert _stored(db) == 2
    metrics.count("x", 5)
    clock.advance(30)
    await upkeep.tick()
    assert _stored(db) == 2
    await upkeep.close()
    assert _stored(db) == 7


async def test_a_storage_error_is_kept_and_retried_not_raised(tmp_path: Path) -> None:
    """While the database refuses writes, rounds carry on and the data waits in memory."""
    clock = FakeClock()
    metrics = Metrics(clock)
    path = tmp_path / "vigil.db"
    with Database(path, busy_timeout_ms=50) as db:
        ensure_schema(db)
        upkeep = MetricsUpkeep(metrics, db, clock, flush_s=0)
        metrics.count("x", 5)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the busy timeout
        try:
            await upkeep.tick()
            failed = upkeep.error
            assert failed is not None and "locked" in failed
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert _stored(db) == 0
        clock.advance(1)
        await upkeep.tick()
        assert upkeep.error is None
        assert _stored(db) == 5


async def test_without_proc_it_stops_sampling_and_keeps_flushing(
    db: Database, tmp_path: Path
) -> None:
    """Where /proc cannot be read, sampling is dropped once and the other chores carry on."""
    clock = FakeClock()
    metrics = Metrics(clock)
    upkeep = MetricsUpkeep(metrics, db, clock, ResourceSampler(clock, proc=tmp_path / "absent"))
    metrics.count("x", 4)
    await upkeep.tick()
    assert _stored(db) == 4
    assert metrics.last_resources is None
