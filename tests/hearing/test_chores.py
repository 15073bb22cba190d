"""Chores: slots on the injected clock, a missed run happens once, and what each chore does."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.helpers import events, vigil
from vigil.app import Vigil
from vigil.app.chores import open_chores
from vigil.config import load_settings
from vigil.errors import ConfigError, NotFoundError
from vigil.events import catalog
from vigil.handlers.chores import ChoreSpec, parse_chores
from vigil.testing import FakeClock

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # a Thursday


def _vigil(clock: FakeClock) -> Vigil:
    vigil = Vigil(load_settings(), clock=clock)
    vigil.ensure_schema()
    return vigil


def test_slots_are_daily_or_weekly_in_utc() -> None:
    """The slot before a moment, the next one, and whether one passed since a reference."""
    daily = ChoreSpec("x", "03:00")
    assert daily.slot_before(START) == datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    assert daily.next_slot(START) == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    assert not daily.due(START, START + timedelta(hours=14))
    assert daily.due(START, START + timedelta(hours=15))
    weekly = ChoreSpec("y", "08:00", weekday=0)
    assert weekly.next_slot(START) == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert weekly.slot_before(START) == datetime(2025, 12, 29, 8, 0, tzinfo=UTC)


def test_chores_config_is_validated() -> None:
    """[chores] takes per-chore tables with at, enabled and the chore's own options."""
    enabled, specs = parse_chores({"backup": {"at": "02:30", "keep": 3}, "enabled": True})
    backup = next(s for s in specs if s.name == "backup")
    assert enabled and backup.at == "02:30" and backup.options["keep"] == 3
    for bad in (
        {"laundry": {}},
        {"backup": {"at": "25:00"}},
        {"backup": {"keep": 0}},
        {"backup": {"weekday": "monday"}},
        {"enabled": "yes"},
        {"retention": {"retention_days": "ninety"}},
    ):
        with pytest.raises(ConfigError):
            parse_chores(bad)


def test_a_run_missed_while_down_happens_once(home: Path) -> None:
    """Nothing is due at first sight; five days later (a Monday passed) each chore is due once,
    and after it ran nothing is due until its next slot."""
    clock = FakeClock(START)
    with _vigil(clock) as vigil:
        chores = open_chores(vigil)
        assert chores.due() == []
        clock.advance(5 * 86400)  # down across five daily slots and one weekly one
        due = chores.due()
        assert due == ["status_report", "retention", "log_cleanup", "backup", "performance_report"]
        for name in due:
            ok, result, _ = chores.run(name)
            assert ok, (name, result)
        assert chores.due() == []
        clock.advance(86400)
        assert set(chores.due()) == {"status_report", "retention", "log_cleanup", "backup"}
        listing = {row["name"]: row for row in chores.listing()}
    assert listing["backup"]["runs"] == 1 and listing["backup"]["ok"] is True
    assert listing["backup"]["next_run"] == "2026-01-08T03:20:00.000000Z"


def test_backup_is_checked_and_only_the_newest_are_kept(home: Path) -> None:
    """The backup is a consistent copy that passes integrity_check; past `keep`, the oldest go."""
    (home / "config.toml").write_text(
        (home / "config.toml").read_text() + "\n[chores.backup]\nkeep = 2\n"
    )
    clock = FakeClock(START)
    with _vigil(clock) as vigil:
        vigil.publish([vigil.event("test.thing.happened", {"n": n}) for n in range(50)])
        chores = open_chores(vigil)
        paths = []
        for _ in range(3):
            ok, result, _ = chores.run("backup")
            assert ok and result["integrity"] == "ok"
            paths.append(Path(result["path"]))
            clock.advance(3600)
    kept = sorted((home / "backups").glob("*.db"))
    assert kept == paths[1:]
    with sqlite3.connect(kept[-1]) as copy:
        assert copy.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 50
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_retention_compacts_old_events_and_keeps_what_matters(home: Path) -> None:
    """Events older than retention_days are removed and counted per day and type; recent ones,
    the newest pass of each command, and events a consumer has not handled stay."""
    clock = FakeClock(START)
    with _vigil(clock) as vigil:
        old = [vigil.event("test.old.happened", {"n": n}) for n in range(5)]
        passed = vigil.event(
            catalog.BUILD_RUN_PASSED,
            {
                "command": "make",
                "argv": ["make"],
                "cwd": "/p",
                "exit_code": 0,
                "duration_ms": 1.0,
                "output_tail": "",
                "git": None,
            },
            subject="make",
        )
        vigil.publish([*old, passed])
        vigil.log.process("learner", vigil.log.find(limit=1)[0], lambda: ((), None))
        clock.advance(100 * 86400)
        recent = vigil.publish([vigil.event("test.new.happened", {})])
        ok, result, _ = open_chores(vigil).run("retention")
        assert ok and result["events_removed"] == 5
        left = {e.type for e in vigil.log.find(limit=100)}
        counts = vigil.db.query("SELECT day, type, count FROM events_compacted")
    assert left == {catalog.BUILD_RUN_PASSED, "test.new.happened"}
    assert [tuple(r) for r in counts] == [("2026-01-01", "test.old.happened", 5)]
    assert recent


def test_retention_never_removes_what_a_consumer_still_has_to_handle(home: Path) -> None:
    """An old event beyond a consumer's offset is kept until the consumer got to it."""
    clock = FakeClock(START)
    with _vigil(clock) as vigil:
        first, second = vigil.publish([vigil.event("a.b.c", {}), vigil.event("a.b.c", {})])
        vigil.log.process("slow", first, lambda: ((), None))
        clock.advance(100 * 86400)
        ok, result, _ = open_chores(vigil).run("retention")
        assert ok and result["events_removed"] == 1
        assert [e.id for e in vigil.log.find(limit=10)] == [second.id]


def test_status_report_counts_failed_fixed_pending_and_asks_to_notify(home: Path) -> None:
    """The daily report counts failures and learned fixes since the last report, lists what
    is still failing, and requests a notification caused by the report."""
    clock = FakeClock(START)
    failure = {
        "command": "pytest",
        "argv": ["pytest"],
        "cwd": "/p",
        "exit_code": 1,
        "duration_ms": 5.0,
        "output_tail": "E boom",
        "git": None,
    }
    with _vigil(clock) as vigil:
        vigil.publish(
            [
                vigil.event(catalog.BUILD_RUN_FAILED, failure, subject="pytest"),
                vigil.event(catalog.FIX_LEARNED, {"entry_id": "kb_1"}),
                vigil.event(catalog.CI_RUN_FAILED, {"repository": "o/r"}),
            ]
        )
        clock.advance(3600)
        ok, result, published = open_chores(vigil).run("status_report")
    assert ok and result["failed"] == 2 and result["fixed"] == 1 and result["pending"] == 1
    kinds = [e.type for e in published]
    assert kinds == [catalog.CHORE_COMPLETED, catalog.REPORT_DAILY, catalog.NOTIFICATION_REQUESTED]
    report, notice = published[1], published[2]
    assert report.data["pending_items"][0]["what"] == "pytest"
    assert notice.causation_id == report.id and notice.data["severity"] == "info"


def test_log_cleanup_removes_only_old_rotated_logs(home: Path) -> None:
    """Rotated logs older than log_days go; the live log and recent rotations stay."""
    logs = home / "logs"
    logs.mkdir()
    for name in ("vigil.log", "vigil.log.1", "vigil.log.2"):
        (logs / name).write_text("x\n")
    old = (START - timedelta(days=30)).timestamp()
    os.utime(logs / "vigil.log.2", (old, old))
    os.utime(logs / "vigil.log", (old, old))
    with _vigil(FakeClock(START)) as vigil:
        ok, result, _ = open_chores(vigil).run("log_cleanup")
    assert ok and result["removed"] == ["vigil.log.2"]
    assert sorted(p.name for p in logs.iterdir()) == ["vigil.log", "vigil.log.1"]


def test_performance_report_compares_two_weeks(home: Path) -> None:
    """The weekly report gives p50/p95/p99 per timed series for this week and the last."""
    from vigil.reliability.metrics import Metrics

    clock = FakeClock(START)
    with _vigil(clock) as vigil:
        metrics = Metrics(clock)
        for ms in (1, 2, 3, 50):
            metrics.observe("handler_seconds", ms / 1000, consumer="triage")
        metrics.flush(vigil.db)
        clock.advance(86400)
        ok, result, published = open_chores(vigil).run("performance_report")
    assert ok and result["series"] == 1
    (series,) = published[1].data["metrics"]
    assert series["name"] == "handler_seconds" and series["this_week"]["count"] == 4
    assert series["this_week"]["p99"] is not None and series["last_week"]["count"] == 0


def test_cli_lists_and_runs_chores(home: Path) -> None:
    """`vigil chores --json` lists every chore with its next run; `vigil chores run NAME` runs
    one and publishes chore.run.completed; an unknown name is one line and exit non-zero."""
    listing = json.loads(vigil("chores", "--json", home=home).stdout)
    assert [row["name"] for row in listing] == [
        "status_report",
        "retention",
        "log_cleanup",
        "backup",
        "performance_report",
    ]
    assert all(row["next_run"] for row in listing)
    done = vigil("chores", "run", "backup", "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    (completed,) = events(home, "--type", "chore.run.completed")
    assert completed["data"]["name"] == "backup"
    again = json.loads(vigil("chores", "--json", home=home).stdout)
    assert next(r for r in again if r["name"] == "backup")["runs"] == 1
    bad = vigil("chores", "run", "laundry", home=home)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert "laundry" in bad.stderr
    with pytest.raises(NotFoundError), _vigil(FakeClock()) as v:
        open_chores(v).spec("laundry")


async def test_the_scheduler_runs_each_chore_once_per_slot(home: Path) -> None:
    """The daemon's scheduler, on a fake clock, runs every daily chore once per day."""
    from vigil.app.hearing import Hearing
    from vigil.events.bus import EventBus

    clock = FakeClock(START)
    vigil = _vigil(clock)
    bus = EventBus(vigil.log)
    hearing = Hearing(vigil, bus)
    spec = next(s for s in hearing.components() if s.name == "chores")
    task = asyncio.create_task(spec.run(lambda: None))
    try:
        while clock.now() < START + timedelta(days=2, hours=1):
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await hearing.close()
    runs = {row["name"]: row["runs"] for row in open_chores(vigil).listing()}
    vigil.close()
    assert runs == {
        "status_report": 2,
        "retention": 2,
        "log_cleanup": 2,
        "backup": 2,
        "performance_report": 0,
    }
