"""Followers: ``vigil events --follow`` is woken by the doorbell, with the daemon down or up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from tests.cli.helpers import daemon, vigil
from vigil.cli.events import follow
from vigil.clock import SystemClock
from vigil.events import doorbell, table
from vigil.events.doorbell import Follower, ring
from vigil.events.log import SqliteEventLog
from vigil.events.model import new_event
from vigil.storage import Database

NOTE = json.dumps({"type": "note.thing.happened", "data": {"n": 1}})


def _bells(home: Path) -> list[str]:
    directory = home / "run" / "bells"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_a_publish_from_another_process_rings_a_follower(home: Path) -> None:
    """``vigil ingest`` in another process, with no daemon, rings a registered follower, and
    the follower's registration is gone once it closes."""
    with Follower(home) as bell:
        assert len(_bells(home)) == 1
        assert bell.wait(0) is False  # nothing rang yet
        done = vigil("ingest", "-", home=home, stdin=NOTE + "\n")
        assert done.returncode == 0, done.stderr
        assert bell.wait(30) is True
        assert bell.wait(0) is False  # one publish, one wake-up: the rest were drained
    assert _bells(home) == []


def test_ringing_removes_the_registration_of_a_follower_that_died(home: Path) -> None:
    """A follower killed without cleaning up leaves its registration; the next ring finds nobody
    there and removes it, while a live follower keeps its own."""
    script = (
        "import os, sys; from pathlib import Path; from vigil.events.doorbell import Follower;"
        "Follower(Path(sys.argv[1])); os._exit(0)"  # no clean-up, as after SIGKILL
    )
    subprocess.run([sys.executable, "-c", script, str(home)], check=True, timeout=60)
    assert len(_bells(home)) == 1
    with Follower(home) as bell:
        assert len(_bells(home)) == 2
        assert ring(home) is False  # no daemon
        assert bell.wait(30) is True
        assert len(_bells(home)) == 1


def test_the_daemon_bell_and_is_listening_never_wake_followers(home: Path) -> None:
    """Asking whether a daemon listens (``vigil status``, ``vigil health``) rings nobody."""
    with Follower(home) as bell:
        assert doorbell.is_listening(home) is False
        assert bell.wait(0) is False


class _MustRing:
    """A real follower whose every wait must end with a ring (a timed re-read would fail)."""

    def __init__(self, bell: Follower) -> None:
        self.bell = bell

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is None  # follow() was told not to re-read on a timer
        assert self.bell.wait(30), "the bell did not ring"
        return True


def test_follow_yields_what_is_stored_after_it_started_and_nothing_before(home: Path) -> None:
    """``follow`` yields, in order, each event stored after its starting position, woken only by
    the bell (no timed re-read): events published by a thread through the log and a ring."""
    db = Database(home / "vigil.db")
    clock = SystemClock()
    log = SqliteEventLog(db, clock)
    log.append([new_event("note.old.stored", {}, clock=clock, source="test")])
    writer_log = SqliteEventLog(Database(home / "vigil.db"), clock)

    def publish(count: int) -> None:
        for i in range(count):
            writer_log.append([new_event("note.new.stored", {"i": i}, clock=clock, source="t")])
            ring(home)

    try:
        with Follower(home) as bell:
            start = table.last_seq(db)
            thread = threading.Thread(target=publish, args=(3,))
            thread.start()
            seen = []
            for event in follow(db, _MustRing(bell), (), start, safety_s=None):  # type: ignore[arg-type]
                seen.append(event)
                if len(seen) == 3:
                    break
            thread.join()
        assert [e["type"] for e in seen] == ["note.new.stored"] * 3
        assert [e["data"]["i"] for e in seen] == [0, 1, 2]
    finally:
        writer_log.db.close()
        db.close()


@contextmanager
def _following(home: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], IO[str]]]:
    env = {**os.environ, "VIGIL_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", "events", "--follow", "--json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        yield proc, proc.stdout
    finally:
        proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def _registered(home: Path, proc: subprocess.Popen[str]) -> None:
    """Wait until ``proc`` registered its bell (it has read the log by then or will next)."""
    from tests.cli.helpers import wait_for

    wait_for(lambda: any(name.startswith(f"{proc.pid}-") for name in _bells(home)), timeout=30)


def test_events_follow_prints_new_events_with_the_daemon_down(home: Path) -> None:
    """``vigil events --follow --json`` prints an event ingested by another process while the
    daemon is down, as one JSON line with the contract's fields."""
    with _following(home, "--type", "note.*") as (proc, out):
        _registered(home, proc)
        done = vigil("ingest", "-", home=home, stdin=NOTE + "\n")
        assert done.returncode == 0, done.stderr
        line = json.loads(out.readline())
    assert line["type"] == "note.thing.happened" and line["data"] == {"n": 1}
    assert {"id", "seq", "time", "source", "subject", "causation_id", "correlation_id"} <= set(line)


@pytest.mark.slow
def test_events_follow_prints_what_the_daemon_stores(home: Path) -> None:
    """With the daemon up, a follower prints the events the daemon stores itself (the triage of
    an ingested failure), which no other process announces: the daemon rings the followers."""
    failure = json.dumps(
        {
            "type": "build.run.failed",
            "subject": "make",
            "data": {"command": "make", "exit_code": 2, "output_tail": "error: it broke\n"},
        }
    )
    with daemon(home), _following(home, "--type", "triage.*") as (proc, out):
        _registered(home, proc)
        done = vigil("ingest", "-", home=home, stdin=failure + "\n")
        assert done.returncode == 0, done.stderr
        line = json.loads(out.readline())
    assert line["type"] == "triage.completed"


def test_sigterm_ends_a_follower_and_removes_its_registration(home: Path) -> None:
    """``vigil events --follow`` stopped with SIGTERM exits 143 and leaves no bell behind."""
    import signal

    with _following(home) as (proc, _):
        _registered(home, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
    assert _bells(home) == []


def test_follow_without_a_writable_run_directory_still_follows(home: Path) -> None:
    """Where no bell can be registered, ``--follow`` says so in one line and re-reads every
    second instead: an ingested event is still printed."""
    (home / "run").mkdir(parents=True, exist_ok=True)
    (home / "run" / "bells").write_text("not a directory")
    with _following(home, "--type", "note.*") as (proc, out):
        done = vigil("ingest", "-", home=home, stdin=NOTE + "\n")
        assert done.returncode == 0, done.stderr
        line = json.loads(out.readline())
        assert line["type"] == "note.thing.happened"
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        warning = proc.stderr.read().strip().splitlines()
    assert len(warning) == 1 and "re-reading every second" in warning[0]
