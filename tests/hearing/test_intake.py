"""The intake: outside events stored in group commits, all or nothing per request, bounded."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from vigil.events.bus import EventBus
from vigil.events.intake import Intake, Saturated
from vigil.events.ledger import Ledger
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.storage import Database
from vigil.testing import FakeClock


def _open(path: Path) -> tuple[Database, SqliteEventLog, EventBus]:
    db = Database(path)
    log = SqliteEventLog(db, FakeClock())
    return db, log, EventBus(log)


def _ev(log: SqliteEventLog, n: int = 0) -> Event:
    return new_event("test.thing.happened", {"n": n}, clock=log.clock, source="test")


async def test_concurrent_units_are_stored_together_and_each_gets_its_events(
    tmp_path: Path,
) -> None:
    """Many requests at once are written in a few transactions, each answered with its own."""
    db, log, bus = _open(tmp_path / "v.db")
    intake = Intake(bus)
    units = [[_ev(log, i), _ev(log, i)] for i in range(200)]
    results = await asyncio.gather(*(intake.submit(unit) for unit in units))
    await intake.close()
    assert [[e.id for e in r] for r in results] == [[e.id for e in u] for u in units]
    assert all(e.seq is not None for r in results for e in r)
    assert log.count() == 400
    db.close()


async def test_a_failing_unit_fails_alone_and_leaves_nothing(tmp_path: Path) -> None:
    """A unit whose claim raises stores nothing of its own; the units beside it are stored."""
    db, log, bus = _open(tmp_path / "v.db")
    intake = Intake(bus)

    def broken(conn: sqlite3.Connection, events: Sequence[Event]) -> Sequence[Event]:
        conn.execute("CREATE TABLE IF NOT EXISTS scratch (x)")
        conn.execute("INSERT INTO scratch VALUES (1)")
        raise ValueError("bad unit")

    good, bad = _ev(log, 1), _ev(log, 2)
    results = await asyncio.gather(
        intake.submit([good]), intake.submit([bad], broken), return_exceptions=True
    )
    await intake.close()
    assert isinstance(results[1], ValueError)
    assert [e.id for e in log.find(limit=10)] == [good.id]
    assert db.query_one("SELECT COUNT(*) FROM sqlite_master WHERE name = 'scratch'")[0] == 0
    db.close()


async def test_a_repeated_key_is_stored_once(tmp_path: Path) -> None:
    """A ledger key seen before keeps none of the unit's events, even in the same batch."""
    db, log, bus = _open(tmp_path / "v.db")
    ledger = Ledger(db, log.clock)
    intake = Intake(bus)
    first, second = _ev(log, 1), _ev(log, 2)
    one, two = await asyncio.gather(
        intake.submit([first], ledger.once("k")), intake.submit([second], ledger.once("k"))
    )
    await intake.close()
    assert [e.id for e in one] == [first.id] and two == []
    assert ledger.seen("k") == [first.id]
    assert log.count() == 1
    db.close()


async def test_a_full_intake_refuses_at_once_and_loses_nothing_accepted(tmp_path: Path) -> None:
    """Past its capacity the intake raises Saturated instead of queueing; what it accepted is
    all stored."""
    db, log, bus = _open(tmp_path / "v.db")
    intake = Intake(bus, capacity=4)
    accepted = [asyncio.ensure_future(intake.submit([_ev(log, i)])) for i in range(4)]
    await asyncio.sleep(0)  # they are queued (the writer has not committed yet)
    with pytest.raises(Saturated) as refused:
        await intake.submit([_ev(log, 99)])
    assert refused.value.retry_after >= 1
    stored = await asyncio.gather(*accepted)
    await intake.close()
    assert intake.rejected == 1
    assert log.count() == 4 == sum(len(s) for s in stored)
    db.close()


async def test_a_caller_that_gives_up_still_gets_its_unit_stored(tmp_path: Path) -> None:
    """Once accepted, a unit is written even if the request that sent it is cancelled (a client
    that hung up): all or nothing, never half."""
    db, log, bus = _open(tmp_path / "v.db")
    intake = Intake(bus)
    events = [_ev(log, 1), _ev(log, 2)]
    task = asyncio.ensure_future(intake.submit(events))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await intake.close()
    assert sorted(e.id for e in log.find(limit=10)) == sorted(e.id for e in events)
    db.close()
