"""Outside events: one validation for `vigil ingest` and `POST /api/events`, with `time`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import events, vigil
from vigil.errors import ValidationError
from vigil.events.ingest import build_events, parse_lines, parse_records, parse_time
from vigil.testing import FakeClock


def test_time_with_z_or_offset_is_kept_in_utc() -> None:
    """`time` in ISO 8601 with Z or an offset becomes the same moment in UTC."""
    clock = FakeClock()
    (event,) = build_events(
        parse_records({"type": "deploy.release.finished", "time": "2025-03-01T10:00:00+02:00"}),
        clock=clock,
        source="t",
    )
    assert event.time == "2025-03-01T08:00:00.000000Z"
    (plain,) = build_events(parse_records({"type": "a.b"}), clock=clock, source="t")
    assert plain.time == "2026-01-01T12:00:00.000000Z"  # the clock's now
    assert parse_time("2025-03-01T08:00:00.123456789Z").microsecond == 123456


@pytest.mark.parametrize(
    "value", ["2025-03-01T10:00:00", "yesterday", "2025-13-01T00:00:00Z", 12, "2025-03-01"]
)
def test_time_without_zone_or_malformed_is_refused(value: object) -> None:
    """A time without a zone, or not a time at all, is a validation error naming `time`."""
    with pytest.raises(ValidationError, match="'time'"):
        parse_records({"type": "a.b", "time": value})


def test_a_batch_is_refused_whole_naming_the_bad_event() -> None:
    """One bad event in an array rejects the array and says which one."""
    with pytest.raises(ValidationError, match="event 1: missing field 'type'"):
        parse_records([{"type": "a.b"}, {"data": {}}])
    with pytest.raises(ValidationError, match="no event"):
        parse_records([])
    with pytest.raises(ValidationError, match="nests deeper"):
        nested: dict[str, object] = {}
        for _ in range(40):
            nested = {"x": nested}
        parse_records({"type": "a.b", "data": nested})


def test_lines_name_the_bad_line() -> None:
    """JSON lines name the line that failed, whatever the reason."""
    text = '{"type": "a.b"}\n\n{"type": "a.b", "time": "noon"}\n'
    with pytest.raises(ValidationError, match="in: line 3: 'time'"):
        parse_lines(text, "in")


def test_cli_ingest_keeps_time_and_stores_nothing_on_a_bad_line(home: Path) -> None:
    """`vigil ingest` stores the given time; a bad time on any line stores nothing."""
    good = json.dumps({"type": "deploy.release.finished", "time": "2024-05-06T07:08:09Z"})
    done = vigil("ingest", "-", "--json", home=home, stdin=good + "\n")
    assert done.returncode == 0, done.stderr
    (stored,) = events(home)
    assert stored["time"] == "2024-05-06T07:08:09.000000Z"
    bad = good + "\n" + json.dumps({"type": "a.b", "time": "2024-05-06 07:08"}) + "\n"
    done = vigil("ingest", "-", home=home, stdin=bad)
    assert done.returncode != 0
    assert "line 2" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert len(events(home)) == 1
