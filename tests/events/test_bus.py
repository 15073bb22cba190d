"""The durable bus: publish, durable consumers, replay, isolation, idempotency, doorbell."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.errors import DaemonError
from vigil.events.bus import EventBus, Outcome
from vigil.events.doorbell import Doorbell, ring
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.storage import Database
from vigil.testing import FakeClock, capture_events, eventually


def _open(path: Path) -> tuple[Database, SqliteEventLog, EventBus]:
    db = Database(path)
    log = SqliteEventLog(db, FakeClock())
    return db, log, EventBus(log)


def _ev(log: SqliteEventLog, kind: str = "build.run.failed", **data: object) -> Event:
    return new_event(kind, dict(data), clock=log.clock, source="test")


async def test_consumer_receives_matching_events_only(tmp_path: Path) -> None:
    """A durable consumer is handed exactly the events whose type matches its pattern."""
    db, log, bus = _open(tmp_path / "v.db")
    seen: list[str] = []
    bus.add_consumer("c", ["build.*"], lambda e: seen.append(e.type) or None)
    await bus.start()
    await bus.publish(
        _ev(log, "build.run.failed"), _ev(log, "kb.entry.added"), _ev(log, "build.run.passed")
    )
    await eventually(lambda: len(seen) == 2)
    await bus.stop()
    db.close()
    assert seen == ["build.run.failed", "build.run.passed"]


async def test_consumer_replays_what_it_missed_after_restart(tmp_path: Path) -> None:
    """Events stored while no consumer ran are handled at the next start, each exactly once."""
    path = tmp_path / "v.db"
    db, log, bus = _open(path)
    seen: list[str] = []
    bus.add_consumer("c", ["*"], lambda e: seen.append(e.id) or None)
    await bus.start()
    first = await bus.publish(_ev(log))
    await eventually(lambda: len(seen) == 1)
    await bus.stop()
    log.append([_ev(log) for _ in range(5)])  # while "down"
    db.close()

    db, log, bus = _open(path)
    again: list[str] = []
    bus.add_consumer("c", ["*"], lambda e: again.append(e.id) or None)
    await bus.start()
    await eventually(lambda: len(again) == 5)
    await bus.stop()
    db.close()
    assert first[0].id not in again
    assert len(set(again)) == 5


async def test_failing_handler_is_dead_lettered_and_others_continue(tmp_path: Path) -> None:
    """A handler that raises does not stop other consumers; its event lands in dead letters."""
    db, log, bus = _open(tmp_path / "v.db")
    good: list[str] = []

    def bad(event: Event) -> None:
        raise RuntimeError("boom")

    bus.add_consumer("bad", ["build.*"], bad)
    bus.add_consumer("good", ["build.*"], lambda e: good.append(e.id) or None)
    await bus.start()
    stored = await bus.publish(_ev(log), _ev(log))
    await eventually(lambda: len(good) == 2 and len(log.dead_letters("bad")) == 2)
    await bus.stop()
    letters = log.dead_letters("bad")
    notices = log.find(patterns=["bus.handler.failed"])
    db.close()
    assert {d.event_id for d in letters} == {e.id for e in stored}
    assert all("RuntimeError: boom" in d.error for d in letters)
    assert len(notices) == 2


async def test_outputs_commit_once_even_when_handled_twice(tmp_path: Path) -> None:
    """Handling the same event again (replay, or a second process) never doubles its outputs."""
    db, log, bus = _open(tmp_path / "v.db")

    def handler(event: Event) -> Outcome:
        return Outcome(
            events=[new_event("triage.completed", {}, clock=log.clock, source="t", cause=event)]
        )

    (failed,) = log.append([_ev(log)])
    from vigil.events.bus import run_handler

    first = run_handler(log, "triage", handler, failed, advance=False)
    second = run_handler(log, "triage", handler, failed, advance=False)
    bus.add_consumer("triage", ["build.run.failed"], handler)
    await bus.start()
    await eventually(lambda: log.offset("triage") == failed.seq)
    await bus.stop()
    outputs = log.find(patterns=["triage.completed"], causation_id=failed.id)
    db.close()
    assert first is not None and second is None
    assert len(outputs) == 1


async def test_live_subscriber_sees_events_and_unsubscribes(tmp_path: Path) -> None:
    """A live subscriber gets new events until it calls the unsubscribe it was given."""
    db, log, bus = _open(tmp_path / "v.db")
    await bus.start()
    with capture_events(bus, "build.*") as seen:
        await bus.publish(_ev(log), _ev(log, "other.thing.happened"))
        await eventually(lambda: len(seen) == 1)
    await bus.publish(_ev(log))
    await asyncio.sleep(0.05)
    await bus.stop()
    db.close()
    assert len(seen) == 1


async def test_doorbell_from_another_process_wakes_consumer(tmp_path: Path) -> None:
    """An event stored by another process and rung on the doorbell is handled without polling."""
    home = tmp_path / "home"
    home.mkdir()
    path = home / "vigil.db"
    db, _, bus = _open(path)
    seen: list[str] = []
    bus.add_consumer("c", ["build.*"], lambda e: seen.append(e.id) or None)
    bell = Doorbell(home, bus.wake)
    await bell.open()
    await bus.start()
    script = (
        "import sys; from pathlib import Path\n"
        "from vigil.storage import Database\n"
        "from vigil.events.log import SqliteEventLog\n"
        "from vigil.events.model import new_event\n"
        "from vigil.events.doorbell import ring\n"
        "from vigil.clock import SystemClock\n"
        "home = Path(sys.argv[1]); db = Database(home / 'vigil.db')\n"
        "log = SqliteEventLog(db, SystemClock())\n"
        "log.append([new_event('build.run.failed', {}, clock=log.clock, source='x')])\n"
        "print(ring(home)); db.close()\n"
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", script, str(home)],
        capture_output=True,
        text=True,
        check=True,
    )
    await eventually(lambda: len(seen) == 1, timeout=5)
    await bus.stop()
    bell.close()
    db.close()
    assert done.stdout.strip() == "True"


async def test_second_daemon_cannot_take_the_doorbell(tmp_path: Path) -> None:
    """Only one listener may hold a home's doorbell; ringing without one reports False."""
    assert ring(tmp_path) is False
    first = Doorbell(tmp_path, lambda: None)
    await first.open()
    second = Doorbell(tmp_path, lambda: None)
    try:
        with pytest.raises(DaemonError, match="already running"):
            await second.open()
        assert ring(tmp_path) is True
    finally:
        first.close()


async def test_concurrent_publishes_are_committed_together(tmp_path: Path) -> None:
    """A burst of concurrent publishes is group-committed, each caller getting its own events."""
    db, log, bus = _open(tmp_path / "v.db")
    commits = 0
    original = log.append

    def counting(events: object) -> list[Event]:
        nonlocal commits
        commits += 1
        return original(events)  # type: ignore[arg-type]

    log.append = counting  # type: ignore[method-assign]
    results = await asyncio.gather(*(bus.publish(_ev(log, i=i), _ev(log, i=i)) for i in range(50)))
    db.close()
    assert [r[0].data["i"] for r in results] == list(range(50))
    assert all(len(r) == 2 and r[0].seq is not None for r in results)
    assert commits < 50


async def test_dead_letter_errors_are_redacted(tmp_path: Path) -> None:
    """A handler error that echoes a secret is stored without the secret."""
    db, log, bus = _open(tmp_path / "v.db")
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"

    def leaky(event: Event) -> None:
        raise RuntimeError(f"auth failed with token {secret}")

    bus.add_consumer("leaky", ["build.*"], leaky)
    await bus.start()
    await bus.publish(_ev(log))
    await eventually(lambda: len(log.dead_letters("leaky")) == 1)
    await bus.stop()
    letter = log.dead_letters("leaky")[0]
    db.close()
    assert secret not in letter.error and secret not in letter.detail
    assert secret not in (tmp_path / "v.db").read_bytes().decode("latin-1")


async def test_async_handler_runs_on_the_loop_exactly_once(tmp_path: Path) -> None:
    """An async handler is awaited on the event loop, its outputs committed once per event."""
    db, log, bus = _open(tmp_path / "v.db")
    calls: list[str] = []

    async def slow(event: Event) -> Outcome:
        calls.append(event.id)
        await asyncio.sleep(0.01)
        return Outcome(
            events=[new_event("enrich.thing.done", {}, clock=log.clock, source="t", cause=event)]
        )

    bus.add_consumer("slow", ["build.*"], slow)
    await bus.start()
    (stored,) = await bus.publish(_ev(log))
    await eventually(lambda: log.find(patterns=["enrich.*"], causation_id=stored.id))
    await bus.stop()
    db.close()
    assert calls == [stored.id]


async def test_storage_trouble_is_waited_out_not_crashed(tmp_path: Path) -> None:
    """A supervised consumer whose storage fails for a while waits and resumes by itself:
    the supervisor sees no crash (so never isolates it) and the event is still handled."""
    import vigil.events.bus as bus_module
    from vigil.errors import StorageError
    from vigil.reliability.supervisor import Spec, Supervisor

    db, log, bus = _open(tmp_path / "v.db")
    seen: list[str] = []
    bus.add_consumer("c", ["build.*"], lambda e: seen.append(e.id) or None)
    failures = 3
    real_read = log.read_after

    def flaky_read(*args: object, **kwargs: object) -> list[Event]:
        nonlocal failures
        if failures:
            failures -= 1
            raise StorageError("state database: the disk is full")
        return real_read(*args, **kwargs)  # type: ignore[arg-type]

    log.read_after = flaky_read  # type: ignore[method-assign]
    original_first = bus_module.RETRY_FIRST_S
    bus_module.RETRY_FIRST_S = 0.01
    supervisor = Supervisor(FakeClock())
    try:
        await bus.open()
        for name, runner in bus.runners(1.0).items():
            supervisor.add(Spec(name, runner, heartbeat=5.0))
        await supervisor.start()
        (stored,) = await bus.publish(_ev(log))
        await eventually(lambda: seen == [stored.id])
        restarts = {c["name"]: c["restarts"] for c in supervisor.snapshot()}
    finally:
        await supervisor.stop()
        await bus.stop()
        bus_module.RETRY_FIRST_S = original_first
        db.close()
    assert restarts["consumer.c"] == 0 and failures == 0
