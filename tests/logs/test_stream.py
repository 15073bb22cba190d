"""A followed log end to end on a real state database: anomalies on the bus, templates and
positions stored together, restarts, the daemon's [[logs.follow]] and the journal source."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vigil.app import Vigil
from vigil.app.logfollow import JOURNALD, LogStream, follow_specs, parse_spec
from vigil.config import Settings, load_settings
from vigil.errors import ConfigError
from vigil.events import catalog
from vigil.testing import eventually

FIXTURES = Path(__file__).parent / "fixtures"


@contextlib.asynccontextmanager
async def running(stream: LogStream) -> AsyncIterator[LogStream]:
    task = asyncio.create_task(stream.run())
    try:
        await eventually(
            lambda: (stream.follower is not None and stream.follower.ready.is_set()) or task.done()
        )
        if task.done():
            task.result()
        yield stream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make_stream(vigil: Vigil, log: Path) -> LogStream:
    spec = parse_spec({"path": str(log)}, "test")
    return LogStream(
        spec, event_log=vigil.log, state=vigil.log_state, clock=vigil.clock, quiet_s=0.01
    )


def append(path: Path, text: str) -> None:
    with path.open("a") as handle:
        handle.write(text)


async def test_anomalies_templates_and_positions_are_stored(
    settings: Settings, tmp_path: Path
) -> None:
    """A new error template becomes log.anomaly.detected; templates and the read position are
    in the database once the batch is handled."""
    log = tmp_path / "app.log"
    log.write_text("")
    with Vigil.open(settings) as vigil:
        vigil.ensure_schema()
        stream = make_stream(vigil, log)
        async with running(stream):
            append(log, "INFO session opened for alice\nINFO session closed for alice\n")
            append(log, "INFO session opened for bob\n")  # alice was in two messages: a value
            append(log, "ERROR payment gateway timed out after 30 s\n")
            await eventually(lambda: stream.anomalies == 1 and stream.records == 4)
        (event,) = vigil.log.read_after(0, (catalog.LOG_ANOMALY_DETECTED,))
        assert event.subject == str(log)
        assert event.data["kind"] == "new_template"
        assert event.data["template"] == "payment gateway timed out after <*> s"
        assert event.data["samples"] == ["ERROR payment gateway timed out after 30 s"]
        stored = vigil.log_state.templates(str(log))
        assert [(t.text, t.count) for t in stored] == [
            ("session opened for <*>", 2),
            ("session closed for alice", 1),
            ("payment gateway timed out after <*> s", 1),
        ]
        position = vigil.log_state.offset(str(log))
        assert position is not None and position.offset == log.stat().st_size


async def test_a_restart_resumes_without_loss_or_repeats(
    settings: Settings, tmp_path: Path
) -> None:
    """Lines written while the stream was down are read once after the restart; known templates
    are not new again."""
    log = tmp_path / "app.log"
    log.write_text("")
    with Vigil.open(settings) as vigil:
        vigil.ensure_schema()
        first = make_stream(vigil, log)
        async with running(first):
            append(log, "INFO disk mounted on sda\nERROR disk full on sda\n")
            await eventually(lambda: first.records == 2)
        append(log, "ERROR disk full on sdb\nWARN cache miss ratio 40%\n")
        second = make_stream(vigil, log)
        async with running(second):
            await eventually(lambda: second.records == 2)
            await asyncio.sleep(0.05)
        kinds = [
            (e.data["kind"], e.data["template"])
            for e in vigil.log.read_after(0, (catalog.LOG_ANOMALY_DETECTED,))
        ]
        assert kinds == [  # the template as it was when it was new
            ("new_template", "disk full on sda"),
            ("new_template", "cache miss ratio <*>"),
        ]
        counts = {t.text: t.count for t in vigil.log_state.templates(str(log))}
        assert counts == {
            "disk mounted on sda": 1,
            "disk full on <*>": 2,
            "cache miss ratio <*>": 1,
        }


def test_config_tables_are_validated(home: Path) -> None:
    """[[logs.follow]] takes a path or kind = "journald"; anything else is one clear error."""
    (home / "config.toml").write_text(
        '[[logs.follow]]\npath = "/var/log/a.log"\n\n[[logs.follow]]\nkind = "journald"\n'
    )
    specs = follow_specs(load_settings())
    assert [(s.kind, s.stream) for s in specs] == [("file", "/var/log/a.log"), (JOURNALD, JOURNALD)]
    for bad, message in (
        ('[[logs.follow]]\nkind = "file"\n', "path must be"),
        ('[[logs.follow]]\npath = "a"\nfrom_start = "yes"\n', "from_start"),
        ('[[logs.follow]]\npath = "a"\ncolour = 1\n', "unknown key"),
        ('[logs]\nfollow = "a"\n', "must be a list of tables"),
    ):
        (home / "config.toml").write_text(bad)
        with pytest.raises(ConfigError, match=message):
            follow_specs(load_settings())


async def test_a_recorded_journal_stream_is_followed(settings: Settings) -> None:
    """journalctl -o json output (recorded) is mined per unit; its cursor is stored."""
    spec = parse_spec(
        {"kind": "journald", "command": ["cat", str(FIXTURES / "journal.jsonl")]}, "test"
    )
    with Vigil.open(settings) as vigil:
        vigil.ensure_schema()
        stream = LogStream(
            spec, event_log=vigil.log, state=vigil.log_state, clock=vigil.clock, quiet_s=0.01
        )
        await stream.run()  # cat ends: the source ends
        texts = {t.text for t in vigil.log_state.templates(JOURNALD)}
        assert "sshd.service: Failed password for <*> from <*> port <*>" in texts
        anomalies = vigil.log.read_after(0, (catalog.LOG_ANOMALY_DETECTED,))
        assert {e.data["kind"] for e in anomalies} == {"new_template"}
        position = vigil.log_state.offset(JOURNALD)
        assert position is not None and position.cursor is not None
        assert position.cursor.startswith("s=")


def test_the_journal_command_is_journalctl_json_follow_after_the_cursor() -> None:
    """The source runs journalctl in JSON follow mode, after the stored cursor if any."""
    from vigil.sources.journal import JournalFollower

    async def nothing(*_: object) -> None:
        return None

    follower = JournalFollower(nothing, cursor="s=abc", units=["nginx.service"])
    assert follower.argv() == [
        "journalctl", "-o", "json", "-f", "--no-pager", "--after-cursor", "s=abc",
        "-u", "nginx.service",
    ]  # fmt: skip
    assert JournalFollower(nothing).argv()[-2:] == ["-n", "0"]


@pytest.mark.skipif(shutil.which("journalctl") is None, reason="no journalctl on this machine")
async def test_the_live_journal_is_followed_and_stopped_cleanly() -> None:
    """The real journalctl starts, is followed, and is ended when the follower is cancelled."""
    from vigil.parsing.loglines import LogRecord
    from vigil.sources.journal import JournalFollower
    from vigil.sources.logs import Position

    got: list[LogRecord] = []

    async def collect(records: list[LogRecord], position: Position) -> None:
        got.extend(records)

    follower = JournalFollower(collect)
    task = asyncio.create_task(follower.run())
    await eventually(lambda: follower.ready.is_set() or task.done())
    await asyncio.sleep(0.2)
    assert not task.done(), "journalctl -f ended by itself"
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert all(isinstance(record, LogRecord) for record in got)


def test_recorded_journal_fixture_is_journal_json() -> None:
    """The fixture is what journalctl -o json prints: one JSON object per line with a cursor."""
    for line in (FIXTURES / "journal.jsonl").read_text().splitlines():
        entry = json.loads(line)
        assert "__CURSOR" in entry and "MESSAGE" in entry


async def test_a_directory_in_the_config_stops_that_stream_with_one_log_line(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A stream whose path is a directory returns (the supervisor marks it finished) after one
    error line, instead of crashing over and over."""
    with Vigil.open(settings) as vigil:
        vigil.ensure_schema()
        stream = make_stream(vigil, tmp_path)
        with caplog.at_level("ERROR", logger="vigil.logs"):
            await stream(lambda: None)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "is a directory" in errors[0].__dict__["error"]
