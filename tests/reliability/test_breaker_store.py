"""Stored breaker state, shared by every process on the machine, on a real SQLite file.

A second "process" is a second ``Database`` connection on the same file with its own breaker
instance (and, where it matters, its own clock): it shares nothing with the first but the file.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from vigil.clock import parse_iso
from vigil.errors import CircuitOpen
from vigil.reliability import (
    BreakerPolicy,
    BreakerRegistry,
    BreakerStore,
    CircuitBreaker,
    CountWindow,
    State,
    TimeWindow,
)
from vigil.storage import Database
from vigil.testing import FakeClock

from .test_breaker import arefused, ok, record_changes, refused, trip


@pytest.fixture
def other_db(db_path: Path, store: BreakerStore) -> Iterator[Database]:
    """Another process's connection to the same state database."""
    database = Database(db_path)
    yield database
    database.close()


def version(db: Database, name: str) -> int:
    row = db.query_one("SELECT version FROM breakers WHERE name = ?", (name,))
    return -1 if row is None else int(row[0])


def test_a_new_process_sees_an_open_breaker_another_process_recorded(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """Built after another process opened it, a breaker starts open with the remaining time."""
    first = CircuitBreaker("llm", clock=clock, store=store)
    trip(first)
    clock.advance(4.0)
    second = CircuitBreaker("llm", clock=clock, store=BreakerStore(other_db))
    assert second.state is State.OPEN
    with pytest.raises(CircuitOpen) as caught:
        second.call(ok)
    assert caught.value.retry_after == pytest.approx(6.0)


def test_a_running_breaker_learns_of_another_process_opening_within_sync_interval(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """An existing breaker keeps its cached state until sync_interval passes, then adopts the
    stored one and tells its hooks the change came from the store."""
    first = CircuitBreaker("llm", clock=clock, store=store)
    second = CircuitBreaker("llm", clock=clock, store=BreakerStore(other_db), sync_interval=1.0)
    changes = record_changes(second)
    trip(first)
    assert second.call(ok) == "ok"  # not read yet: within the sync interval
    clock.advance(1.0)
    with pytest.raises(CircuitOpen):
        second.call(ok)
    assert changes == [
        (
            "llm",
            "closed",
            "open",
            "synced: 3 consecutive failures, last: ConnectionError: connection refused",
        )
    ]


def test_a_restart_remembers_an_open_breaker_and_it_expires_in_wall_time(
    clock: FakeClock, db_path: Path
) -> None:
    """Open state survives the process: a new process with its own monotonic clock, started
    later on the wall clock, waits only what is left, then probes and closes it."""
    db = Database(db_path)
    trip(CircuitBreaker("llm", BreakerPolicy(open_base=30.0), clock=clock, store=BreakerStore(db)))
    db.close()
    later = FakeClock(start=clock.now() + timedelta(seconds=12))
    db = Database(db_path)
    try:
        restarted = CircuitBreaker("llm", clock=later, store=BreakerStore(db))
        assert restarted.state is State.OPEN
        assert restarted.retry_after() == pytest.approx(18.0)
        later.advance(17.0)
        with pytest.raises(CircuitOpen):
            restarted.call(ok)
        later.advance(1.0)
        assert restarted.call(ok) == "ok"
        assert restarted.state is State.CLOSED
        row = BreakerStore(db).get("llm")
        assert row is not None and row.state is State.CLOSED and row.openings == 1
    finally:
        db.close()


def test_only_one_process_probes_and_its_result_reaches_the_others(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """When the open period ends, the process that claims the probe lease probes; the other is
    refused meanwhile, and adopts the closed state the probe wrote."""
    first = CircuitBreaker("llm", clock=clock, store=store, sync_interval=0.0)
    second = CircuitBreaker("llm", clock=clock, store=BreakerStore(other_db), sync_interval=0.0)
    trip(first)
    clock.advance(10.0)
    refused_meanwhile: list[float] = []

    def probe() -> str:
        with pytest.raises(CircuitOpen) as caught:
            second.call(ok)  # runs while the first process's probe is in flight
        refused_meanwhile.append(caught.value.retry_after)
        return "up"

    assert first.call(probe) == "up"
    assert refused_meanwhile == [pytest.approx(30.0)]  # until the lease (probe_timeout) ends
    assert first.state is State.CLOSED
    assert second.call(ok) == "ok" and second.state is State.CLOSED


def test_another_process_takes_over_when_the_probe_lease_runs_out(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """A process that claimed the probe and died leaves a lease that expires; then another
    process probes."""
    policy = BreakerPolicy(probe_timeout=5.0)
    first = CircuitBreaker("llm", policy, clock=clock, store=store, sync_interval=0.0)
    trip(first)
    clock.advance(10.0)
    first._flush()
    with store.db.transaction() as conn:  # the first process claims, then "dies" mid-probe
        conn.execute(
            "UPDATE breakers SET state = 'half-open', probe_until = ?, version = version + 1",
            (clock.now().timestamp() + 5.0,),
        )
    second = CircuitBreaker("llm", policy, clock=clock, store=BreakerStore(other_db))
    with pytest.raises(CircuitOpen) as caught:
        second.call(ok)
    assert caught.value.retry_after == pytest.approx(5.0)
    clock.advance(5.0)
    assert second.call(ok) == "ok"
    assert second.state is State.CLOSED
    assert first.call(ok) == "ok" and first.state is State.CLOSED


def test_openings_are_shared_so_the_open_period_grows_across_processes(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """A probe failing in another process re-opens it for the next, longer period."""
    first = CircuitBreaker("llm", clock=clock, store=store, sync_interval=0.0)
    second = CircuitBreaker("llm", clock=clock, store=BreakerStore(other_db), sync_interval=0.0)
    trip(first)
    clock.advance(10.0)
    trip(second, 1)  # second's call is the probe, and it fails
    assert second.retry_after() == 20.0
    with pytest.raises(CircuitOpen) as caught:
        first.call(ok)
    assert caught.value.retry_after == pytest.approx(20.0)
    assert first.openings == 2


def test_a_failure_that_finds_the_breaker_opened_elsewhere_adopts_that_opening(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """A process that had not read the store since another opened the breaker fails once: that
    failure is not counted into a second opening; it adopts the first, with the time left."""
    first = CircuitBreaker("llm", clock=clock, store=store, sync_interval=3600.0)
    second = CircuitBreaker("llm", clock=clock, store=BreakerStore(other_db), sync_interval=3600.0)
    changes = record_changes(second)
    trip(first)
    clock.advance(2.0)
    trip(second, 1)  # its view said closed, so the call ran; its failure found first's opening
    assert second.state is State.OPEN and second.openings == 1 and first.openings == 1
    assert second.retry_after() == pytest.approx(8.0)
    assert [c[1:3] for c in changes] == [("closed", "open")]
    assert changes[0][3].startswith("synced: 3 consecutive failures")
    row = store.get("llm")
    assert row is not None and row.openings == 1 and row.failures == 3 and row.version == 3


def test_the_store_is_written_for_failures_and_one_reset_only(
    clock: FakeClock, store: BreakerStore, db: Database
) -> None:
    """Successes on a clean count never write; each failure writes, and so does the one success
    that resets the count after it; transitions write as before."""
    breaker = CircuitBreaker("llm", clock=clock, store=store)
    for _ in range(100):
        breaker.call(ok)
    assert version(db, "llm") == -1
    trip(breaker, 2)
    assert version(db, "llm") == 2
    for _ in range(100):
        breaker.call(ok)
    row = store.get("llm")
    assert row is not None and row.version == 3 and row.failures == 0
    trip(breaker)
    assert version(db, "llm") == 6  # two counts, then the count that opens it
    clock.advance(10.0)
    breaker.call(ok)  # claim (half-open) then close: two writes
    assert version(db, "llm") == 8


def test_failures_from_two_processes_add_up_to_open_it(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """Two failures in one process and one in another open the breaker (failures=3), in the
    process whose failure made the stored total 3; the other learns it at its next sync."""
    first = CircuitBreaker("llm", clock=clock, store=store)
    second = CircuitBreaker("llm", clock=clock, store=BreakerStore(other_db))
    first_changes, second_changes = record_changes(first), record_changes(second)
    trip(first, 2)
    assert first.state is State.CLOSED and first.failures == 2
    row = store.get("llm")
    assert row is not None and row.state is State.CLOSED and row.failures == 2
    trip(second, 1)  # second never saw a failure before: the store adds it to first's two
    assert second.state is State.OPEN and second.retry_after() == 10.0
    assert second_changes == [
        (
            "llm",
            "closed",
            "open",
            "3 consecutive failures, last: ConnectionError: connection refused",
        )
    ]
    row = store.get("llm")
    assert row is not None and row.state is State.OPEN and row.failures == 3
    assert row.openings == 1
    clock.advance(1.0)
    with pytest.raises(CircuitOpen):
        first.call(ok)
    assert [c[1:3] for c in first_changes] == [("closed", "open")]


def test_a_success_resets_the_shared_count(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """A success resets the stored count: at once after its own process's failures, and after
    another process's once it has synced (within sync_interval; until then it cannot know)."""
    first = CircuitBreaker("llm", clock=clock, store=store)
    second = CircuitBreaker("llm", clock=clock, store=BreakerStore(other_db), sync_interval=1.0)

    def stored_failures() -> int:
        row = store.get("llm")
        return -1 if row is None else row.failures

    trip(first, 2)
    assert first.call(ok) == "ok"
    assert stored_failures() == 0 and first.failures == 0
    trip(first, 2)
    assert second.call(ok) == "ok"
    assert stored_failures() == 2  # second has not read the store since first's failures
    clock.advance(1.0)
    assert second.call(ok) == "ok"  # it syncs, sees the count, and its success resets it
    assert stored_failures() == 0 and second.failures == 0
    trip(first, 2)  # first's view still said 2: the store adds to its 0
    assert first.state is State.CLOSED and stored_failures() == 2
    trip(first, 1)
    assert first.state is State.OPEN


def test_a_reopened_process_sees_the_count(clock: FakeClock, db_path: Path) -> None:
    """A process started after others failed sees their count, and one more failure opens it."""
    db = Database(db_path)
    trip(CircuitBreaker("llm", clock=clock, store=BreakerStore(db)), 2)
    db.close()
    db = Database(db_path)
    try:
        reopened = CircuitBreaker("llm", clock=clock, store=BreakerStore(db))
        assert reopened.failures == 2 and reopened.snapshot()["failures"] == 2
        trip(reopened, 1)
        assert reopened.state is State.OPEN
        assert reopened.snapshot()["reason"].startswith("3 consecutive failures")
    finally:
        db.close()


def test_four_processes_failing_at_once_open_it_exactly_once_with_the_right_count(
    clock: FakeClock, db_path: Path, store: BreakerStore
) -> None:
    """Four connections failing from four threads at once lose no count: the eighth stored
    failure opens it (failures=8), once; later failures find it open and count nothing."""
    policy = BreakerPolicy(failures=8)
    dbs = [Database(db_path) for _ in range(4)]
    breakers = [
        CircuitBreaker("llm", policy, clock=clock, store=BreakerStore(d), sync_interval=0.0)
        for d in dbs
    ]
    changes = [record_changes(b) for b in breakers]
    barrier = threading.Barrier(len(breakers))
    ran: list[int] = []

    def failing() -> str:
        ran.append(1)
        raise ConnectionError("connection refused")

    def fail(breaker: CircuitBreaker) -> None:
        barrier.wait()
        for _ in range(3):
            try:
                breaker.call(failing)
            except (ConnectionError, CircuitOpen):
                pass

    threads = [threading.Thread(target=fail, args=(b,)) for b in breakers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        row = store.get("llm")
        assert row is not None and row.state is State.OPEN
        assert (row.failures, row.openings, row.version) == (8, 1, 8)
        assert row.reason.startswith("8 consecutive failures")
        assert len(ran) >= 8
        for breaker in breakers:
            with pytest.raises(CircuitOpen):
                breaker.call(ok)
        assert all(b.state is State.OPEN and b.openings == 1 for b in breakers)
        assert [[c[1:3] for c in seen] for seen in changes] == [[("closed", "open")]] * 4
        openers = [seen for seen in changes if not seen[0][3].startswith("synced:")]
        assert len(openers) == 1
    finally:
        for d in dbs:
            d.close()


def test_count_window_outcomes_are_shared(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """A count window adds up over processes: successes seen while it held no failure go with
    the next write as its oldest calls, and the rate is taken on the stored window."""
    policy = BreakerPolicy(failures=None, window=CountWindow(size=10, threshold=0.5, min_calls=6))
    first = CircuitBreaker("api", policy, clock=clock, store=store)
    second = CircuitBreaker("api", policy, clock=clock, store=BreakerStore(other_db))
    for _ in range(3):
        first.call(ok)
    assert store.get("api") is None  # a clean window: nothing written
    trip(first, 1)
    row = store.get("api")
    assert row is not None and row.rate_window == "c:0001"
    trip(second, 1)
    assert second.state is State.CLOSED  # 2 failures in 5 calls: below min_calls
    trip(second, 1)  # 3 in 6: 50%
    assert second.state is State.OPEN
    assert second.snapshot()["reason"].startswith("failure rate 50% over 6 calls")


def test_count_window_successes_write_at_most_once_per_sync_interval(
    clock: FakeClock, store: BreakerStore, db: Database
) -> None:
    """After a failure, window successes wait for sync_interval and then go in one write, in
    order; a success that makes the rate open the breaker writes at once."""
    policy = BreakerPolicy(failures=None, window=CountWindow(size=4, threshold=0.75, min_calls=4))
    breaker = CircuitBreaker("api", policy, clock=clock, store=store, sync_interval=1.0)
    trip(breaker, 1)
    for _ in range(3):
        breaker.call(ok)
    row = store.get("api")
    assert row is not None and (row.version, row.rate_window) == (1, "c:1")
    clock.advance(1.0)
    breaker.call(ok)
    row = store.get("api")
    assert row is not None and (row.version, row.rate_window) == (2, "c:0000")
    for _ in range(10):
        breaker.call(ok)
    assert version(db, "api") == 2  # a window full of successes: nothing to write

    policy = BreakerPolicy(failures=None, window=CountWindow(size=4, threshold=0.5, min_calls=4))
    opening = CircuitBreaker("api2", policy, clock=clock, store=store, sync_interval=1.0)
    trip(opening, 2)
    opening.call(ok)  # 2 in 3 calls: below min_calls, waits
    assert version(db, "api2") == 2
    opening.call(ok)  # 2 in 4 calls: 50% opens it, so it is written now
    assert opening.state is State.OPEN and version(db, "api2") == 3


def test_time_window_outcomes_are_shared_and_expire(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """A time window adds up over processes, slice by slice on the wall clock, and calls older
    than its seconds drop out of the stored window too."""
    window = TimeWindow(seconds=10.0, threshold=0.5, min_calls=4, buckets=5)
    policy = BreakerPolicy(failures=None, window=window)
    first = CircuitBreaker("api", policy, clock=clock, store=store)
    second = CircuitBreaker("api", policy, clock=clock, store=BreakerStore(other_db))
    trip(first, 3)
    assert first.state is State.CLOSED
    clock.advance(11.0)  # those three slide out
    trip(second, 1)
    assert second.state is State.CLOSED
    trip(first, 2)
    assert first.state is State.CLOSED  # 3 calls in the last 10 s: below min_calls
    trip(second, 1)
    assert second.state is State.OPEN
    assert second.snapshot()["reason"].startswith("failure rate 100% over 4 calls")


def test_a_failure_counted_during_another_process_probe_leaves_its_lease_alone(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """A process with a stale closed view fails while another probes: the store does not count
    it; that process learns of the probe and refuses calls; the probe's success closes it."""
    first = CircuitBreaker("llm", clock=clock, store=store, sync_interval=0.0)
    second = CircuitBreaker("llm", clock=clock, store=BreakerStore(other_db), sync_interval=3600.0)
    trip(first)
    clock.advance(10.0)

    def probe() -> str:
        trip(second, 1)  # runs: second still thinks it is closed
        assert second.state is State.HALF_OPEN
        with pytest.raises(CircuitOpen) as caught:
            second.call(ok)
        assert caught.value.retry_after == pytest.approx(30.0)  # first's lease
        return "up"

    assert first.call(probe) == "up"
    assert first.state is State.CLOSED
    row = store.get("llm")
    assert row is not None and row.state is State.CLOSED
    assert (row.failures, row.openings) == (0, 1)


def test_memory_only_breakers_ignore_other_breakers_of_the_same_name(clock: FakeClock) -> None:
    """Without a store nothing is shared: two breakers of one name count on their own."""
    first, second = CircuitBreaker("llm", clock=clock), CircuitBreaker("llm", clock=clock)
    trip(first, 2)
    trip(second, 2)
    assert first.state is State.CLOSED and second.state is State.CLOSED
    assert first.failures == 2 and second.failures == 2


async def test_async_calls_write_through_the_database_thread(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """acall's transitions reach the store, and an async caller adopts another's state."""
    first = CircuitBreaker("llm", clock=clock, store=store)
    for _ in range(3):
        with pytest.raises(ConnectionError):
            await first.acall(arefused)
    row = store.get("llm")
    assert row is not None and row.state is State.OPEN
    second = CircuitBreaker("llm", clock=clock, store=BreakerStore(other_db), sync_interval=0.0)
    with pytest.raises(CircuitOpen):
        await second.acall(asyncio.sleep, 0)
    second.reset()
    clock.advance(1.0)
    assert await first.acall(asyncio.sleep, 0, "sync") == "sync"
    assert first.state is State.CLOSED


def test_an_unwritable_database_leaves_the_breaker_working_in_memory(
    clock: FakeClock, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """If the state database fails, the breaker logs it and still opens and refuses calls."""
    db = Database(db_path)
    breaker = CircuitBreaker("llm", clock=clock, store=BreakerStore(db), sync_interval=0.0)
    db.close()
    trip(breaker)
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpen):
        breaker.call(ok)
    assert "cannot store its state" in caplog.text


def test_registry_shares_breakers_hooks_and_reports_every_breaker(
    clock: FakeClock, store: BreakerStore, other_db: Database
) -> None:
    """get() returns one breaker per name; registry hooks reach present and future breakers;
    the snapshot lists this process's breakers and those only another process stored."""
    registry = BreakerRegistry(store, clock=clock)
    changes: list[tuple[str, str, str, str]] = []
    calls: list[tuple[str, str]] = []
    registry.on_change(lambda *change: changes.append(change))
    llm = registry.get("llm")
    stop_calls = registry.on_call(lambda name, outcome, seconds: calls.append((name, outcome)))
    assert registry.get("llm") is llm
    with pytest.raises(ValueError, match="another policy"):
        registry.get("llm", BreakerPolicy(failures=9))
    webhook = registry.get("webhook", BreakerPolicy(failures=1))
    trip(llm)
    webhook.call(ok)
    other = CircuitBreaker("ntfy", clock=clock, store=BreakerStore(other_db))
    trip(other)
    assert [c[:3] for c in changes] == [("llm", "closed", "open")]
    assert calls == [("llm", "failure")] * 3 + [("webhook", "success")]
    stop_calls()
    webhook.call(ok)
    assert len(calls) == 4
    report = registry.snapshot()
    assert [entry["name"] for entry in report] == ["llm", "ntfy", "webhook"]
    by_name = {entry["name"]: entry for entry in report}
    assert set(by_name["llm"]) == {
        "name",
        "state",
        "failures",
        "openings",
        "open_until",
        "last_change",
        "reason",
    }
    assert by_name["llm"]["state"] == "open" and by_name["llm"]["openings"] == 1
    assert by_name["ntfy"]["state"] == "open" and by_name["ntfy"]["failures"] == 3
    until = parse_iso(by_name["ntfy"]["open_until"])
    assert until == clock.now() + timedelta(seconds=10)
    assert by_name["webhook"] == {
        "name": "webhook",
        "state": "closed",
        "failures": 0,
        "openings": 0,
        "open_until": None,
        "last_change": by_name["webhook"]["last_change"],
        "reason": "created",
    }
    assert by_name["llm"]["reason"].startswith("3 consecutive failures")


def test_store_snapshot_reads_every_row_without_breakers(
    clock: FakeClock, store: BreakerStore
) -> None:
    """The health report can be built from the store alone (``vigil health`` in a CLI)."""
    trip(CircuitBreaker("llm", clock=clock, store=store))
    (entry,) = store.snapshot(clock.now().timestamp())
    assert entry["name"] == "llm" and entry["state"] == "open"
    assert entry["last_change"] == "2026-01-01T12:00:00.000000Z"


def test_many_processes_failing_together_store_one_opening(
    clock: FakeClock, db_path: Path, store: BreakerStore
) -> None:
    """Breakers on separate connections, failing at once from separate threads, reconcile in
    the store: one opening, and every one of them ends open for that one period."""
    dbs = [Database(db_path) for _ in range(4)]
    breakers = [
        CircuitBreaker("llm", clock=clock, store=BreakerStore(d), sync_interval=3600.0) for d in dbs
    ]
    barrier = threading.Barrier(len(breakers))

    def fail(breaker: CircuitBreaker) -> None:
        barrier.wait()
        for _ in range(5):
            try:
                breaker.call(refused)
            except (ConnectionError, CircuitOpen):
                pass

    threads = [threading.Thread(target=fail, args=(b,)) for b in breakers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        row = store.get("llm")
        assert row is not None and row.state is State.OPEN and row.openings == 1
        assert all(b.state is State.OPEN and b.openings == 1 for b in breakers)
        assert {b.retry_after() for b in breakers} == {10.0}
    finally:
        for d in dbs:
            d.close()
