"""Breakers and components over 24 hours, from the events that record their changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.api.dashboard.charts import Point, latency_chart, state_bar
from vigil.api.dashboard.timeline import breaker_rows, component_rows
from vigil.clock import isoformat
from vigil.events.model import Event

START = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
END = START + timedelta(hours=24)


def event(kind: str, hour: float, **data: Any) -> Event:
    return Event(
        id=f"ev_{kind}_{hour}",
        type=kind,
        time=isoformat(START + timedelta(hours=hour)),
        source="vigil.daemon",
        subject=None,
        data=data,
    )


def test_breaker_segments_follow_its_transitions() -> None:
    """A breaker that opened at 10:00, half-opened at 10:05 and closed at 10:06 is closed
    before, open 5 min, half-open 1 min, closed after; one never changed shows its state now."""
    changes = [
        event(
            "breaker.opened",
            10,
            breaker="git",
            **{"from": "closed", "to": "open"},
            reason="3 timeouts",
        ),
        event(
            "breaker.half_opened", 10 + 5 / 60, breaker="git", **{"from": "open", "to": "half-open"}
        ),
        event(
            "breaker.closed", 10 + 6 / 60, breaker="git", **{"from": "half-open", "to": "closed"}
        ),
    ]
    current = [{"name": "git", "state": "closed"}, {"name": "provider:groq", "state": "open"}]
    git, groq = breaker_rows(changes, current, START.timestamp(), END.timestamp())
    assert [s.state for s in git.segments] == ["closed", "open", "half-open", "closed"]
    assert round(git.time_in()["open"]) == 300 and git.segments[1].reason == "3 timeouts"
    assert groq.name == "provider:groq" and [s.state for s in groq.segments] == ["open"]
    bar = state_bar(git, START.timestamp(), END.timestamp())
    assert 'class="seg bad"' in bar and "git: open" in bar and "3 timeouts" in bar


def test_components_follow_the_daemon_and_their_own_trouble() -> None:
    """The daemon down overnight takes every component down with it; a restart is a mark; an
    isolated component stays isolated until the daemon starts again."""
    changes = [
        event("daemon.process.stopped", 1),
        event("daemon.process.started", 7),
        event("component.process.restarted", 8, component="consumer.triage", error="boom"),
        event("component.process.isolated", 9, component="consumer.triage", error="boom again"),
        event("daemon.process.stopped", 12),
        event("daemon.process.started", 12.5),
    ]
    current = [{"name": "consumer.triage"}, {"name": "http"}]
    daemon, triage, http = component_rows(changes, current, START.timestamp(), END.timestamp())
    assert [s.state for s in daemon.segments] == ["running", "down", "running", "down", "running"]
    assert [s.state for s in triage.segments] == [
        "running",
        "down",
        "running",
        "isolated",
        "down",
        "running",
    ]
    assert triage.marks == [(START.timestamp() + 8 * 3600, "restarted: boom")]
    assert not http.marks and round(http.time_in()["down"]) == 6.5 * 3600


def test_latency_chart_draws_three_lines_with_gaps() -> None:
    """p50, p95 and p99 are each a line; an empty bucket breaks them; the numbers are a table."""
    start = int(START.timestamp())
    points = [
        Point(start + i * 60, 0 if i == 2 else 10, 1 if i == 1 else 0, 0.01, 0.05, 0.2)
        for i in range(5)
    ]
    svg = latency_chart("Publish", points, start, start + 300)
    assert svg.count('class="line p50"') == 2 and svg.count('class="line p99"') == 2
    assert "40 calls, 97.5% succeeded" in svg and "<table>" in svg
    empty = latency_chart("Publish", [Point(start, 0, 0, None, None, None)], start, start + 60)
    assert "No publish recorded" in empty
