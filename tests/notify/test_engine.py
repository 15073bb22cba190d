"""The notifier end to end on a real event log: storms, releases, rebuilds, rejections."""

from __future__ import annotations

from pathlib import Path

from tests.notify.conftest import T0, at, event, request
from vigil.clock import SystemClock, parse_iso
from vigil.events import catalog
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event
from vigil.notify.engine import Notifier
from vigil.notify.gates import Policy
from vigil.notify.inbox import digest, inbox
from vigil.storage import Database

EVERY = frozenset({"dashboard", "terminal", "desktop", "webhook", "spoken"})


def _log(tmp_path: Path) -> SqliteEventLog:
    return SqliteEventLog(Database(tmp_path / "vigil.db"), SystemClock())


def _run(notifier: Notifier, log: SqliteEventLog, events: list[Event]) -> list[Event]:
    """Store each event, hand it to the notifier, store its decisions (as the consumer does)."""
    decisions: list[Event] = []
    for item in events:
        (stored,) = log.append([item])
        made = notifier.handle(stored, parse_iso(stored.time))
        decisions += log.append(made)
    return decisions


def _kinds(decisions: list[Event]) -> list[str]:
    return [d.type.rsplit(".", 1)[1] for d in decisions]


def test_storm_gives_one_delivery_and_one_digest_line(tmp_path: Path) -> None:
    """1,000 identical failures in 10 s: exactly one delivered, the rest suppressed, and the
    digest folds them into one line; every request has a decision (nothing lost)."""
    log = _log(tmp_path)
    notifier = Notifier(Policy(channels=EVERY), clock="events")
    storm = [
        request("New failure: pytest -q", "error", when=at(seconds=i / 100), fingerprint="build:f1")
        for i in range(1000)
    ]
    decisions = _run(notifier, log, [event("build.run.started", source="vigil.cli"), *storm])
    assert _kinds(decisions).count("delivered") == 1
    assert _kinds(decisions).count("suppressed") == 999
    entries = inbox(log, limit=None)
    assert len(entries) == 1000 and all(e["decision"] for e in entries)
    lines = digest(entries)
    assert len(lines) == 1 and lines[0].count == 999
    log.db.close()


def test_focus_deferral_is_released_at_its_own_time(tmp_path: Path) -> None:
    """A request held by focus gets a second decision, with the same causation id, at the
    moment focus ends on the event clock, even when the next event comes much later."""
    log = _log(tmp_path)
    notifier = Notifier(Policy(channels=EVERY), clock="events")
    until = at(30).isoformat().replace("+00:00", "Z")
    asked = request("CI failed: tests on main", "error", when=at(5))
    decisions = _run(
        notifier,
        log,
        [
            event("attention.focus.changed", {"until": until}, source="vigil.cli"),
            asked,
            event("clock.ticked", when=at(90)),
        ],
    )
    assert _kinds(decisions) == ["deferred", "delivered"]
    assert {d.causation_id for d in decisions} == {asked.id}
    assert decisions[1].time.startswith(until[:19])
    assert decisions[1].data["released"]["gate"] == "context"
    log.db.close()


def test_focus_off_releases_at_once(tmp_path: Path) -> None:
    """Turning focus off releases what it held at that moment."""
    log = _log(tmp_path)
    notifier = Notifier(Policy(channels=EVERY), clock="events")
    decisions = _run(
        notifier,
        log,
        [
            event("attention.focus.changed", {"until": "2026-03-02T11:00:00Z"}, source="vigil.cli"),
            request("CI failed", "error", when=at(1)),
            event("attention.focus.changed", {"until": None}, when=at(7), source="vigil.cli"),
            event("clock.ticked", when=at(8)),
        ],
    )
    assert _kinds(decisions) == ["deferred", "delivered"]
    assert decisions[1].time.startswith("2026-03-02T10:07")
    log.db.close()


def test_grace_period_then_resolution_is_suppressed(tmp_path: Path) -> None:
    """A condition that resolves within its grace period never interrupts; one that persists
    is delivered when the grace period ends."""
    log = _log(tmp_path)
    notifier = Notifier(Policy(channels=EVERY), clock="events")
    flap = request("Probe api failing", "error", when=at(0), fingerprint="probe:api",
                   signals={"resolvable": True})  # fmt: skip
    stays = request("Probe db failing", "error", when=at(0), fingerprint="probe:db",
                    signals={"resolvable": True})  # fmt: skip
    resolved = event(
        catalog.ATTENTION_CONDITION_RESOLVED, {"fingerprint": "probe:api"}, when=at(seconds=40)
    )
    decisions = _run(notifier, log, [flap, stays, resolved, event("clock.ticked", when=at(5))])
    final = {d.causation_id: d for d in decisions}
    assert final[flap.id].type == catalog.NOTIFICATION_SUPPRESSED
    assert "resolved" in final[flap.id].data["reason"]
    assert final[stays.id].type == catalog.NOTIFICATION_DELIVERED
    assert final[stays.id].time.startswith("2026-03-02T10:01:30")
    log.db.close()


def test_rebuilt_notifier_decides_like_the_one_that_ran(tmp_path: Path) -> None:
    """A notifier rebuilt from the stored events keeps the cooldown the first one started: the
    repeat after a restart is suppressed exactly as without the restart."""
    log = _log(tmp_path)
    first = Notifier(Policy(channels=EVERY), clock="events")
    _run(first, log, [request("Disk full", "error", when=at(0), fingerprint="disk")])
    again = request("Disk full", "error", when=at(2), fingerprint="disk")
    (stored,) = log.append([again])
    expected = first.handle(stored, at(2))
    rebuilt = Notifier(Policy(channels=EVERY), clock="events")
    stored_events = log.read_after(0, limit=100)
    rebuilt.rebuild([e for e in stored_events if e.id != stored.id])
    got = rebuilt.handle(stored, at(2))
    assert _kinds(got) == _kinds(expected) == ["suppressed"]
    assert got[0].data["reason"] == expected[0].data["reason"]
    log.db.close()


def test_malformed_request_is_rejected_and_kept(tmp_path: Path) -> None:
    """A request with no title or an unknown severity gets a recorded rejection and is in the
    inbox as rejected, never dropped."""
    log = _log(tmp_path)
    notifier = Notifier(Policy(), clock="events")
    bad = [
        event("notification.requested", {"severity": "error"}),
        event("notification.requested", {"title": "x", "severity": "bogus"}),
    ]
    decisions = _run(notifier, log, bad)
    assert [d.data["gate"] for d in decisions] == ["request", "request"]
    assert "unknown severity 'bogus'" in decisions[1].data["reason"]
    assert [e["status"] for e in inbox(log, limit=None)] == ["rejected", "rejected"]
    log.db.close()


def test_a_request_is_decided_once(tmp_path: Path) -> None:
    """Handing the same request over again (a replayed delivery) makes no second decision."""
    log = _log(tmp_path)
    notifier = Notifier(Policy(), clock="events")
    (stored,) = log.append([request()])
    assert len(notifier.handle(stored, T0)) == 1
    assert notifier.handle(stored, T0) == []
    log.db.close()


def test_system_clock_uses_the_now_handed_in() -> None:
    """On the system clock the decision carries the ``now`` given, not the request's time."""
    notifier = Notifier(Policy(), clock="system")
    made = notifier.handle(request(when=at(0)), at(3))
    assert made[0].time.startswith("2026-03-02T10:03")


def test_what_focus_held_interrupts_once_when_it_ends(tmp_path: Path) -> None:
    """Two requests held by one focus are both delivered when it ends, with one interruption:
    the more significant leads and names the other, which is shown quietly."""
    log = _log(tmp_path)
    notifier = Notifier(Policy(channels=EVERY), clock="events")
    decisions = _run(
        notifier,
        log,
        [
            event("attention.focus.changed", {"until": "2026-03-02T10:30:00Z"}, source="vigil.cli"),
            request("CI failed on main", "error", when=at(5), fingerprint="ci:main"),
            request("Queue is deep", "warning", when=at(9), fingerprint="queue"),
            event("file.changed", {"paths": ["src/app.py"]}, when=at(25)),
            event("clock.ticked", when=at(35)),
        ],
    )
    released = [d for d in decisions if d.data.get("released")]
    assert _kinds(released) == ["delivered", "delivered"]
    lead, other = released
    assert lead.data["interrupts"] is True and lead.data["bundle"] == ["Queue is deep"]
    assert other.data["interrupts"] is False and other.data["bundled_into"] == lead.id
    log.db.close()
