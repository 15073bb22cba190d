"""``vigil --version``, ``events``, ``ingest``, ``status`` and bad input, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import events, vigil


def test_version(home: Path) -> None:
    """``vigil --version`` prints the version and exits 0."""
    done = vigil("--version", home=home)
    assert done.returncode == 0
    assert done.stdout.startswith("vigil ")


def test_events_on_a_fresh_home_is_an_empty_array(home: Path) -> None:
    """A fresh VIGIL_HOME has no events and ``--json`` prints ``[]``."""
    assert events(home) == []


def test_ingest_stores_events_with_the_contract_fields(home: Path, tmp_path: Path) -> None:
    """Ingested JSON lines come back from ``vigil events --json`` with every contract field."""
    lines = tmp_path / "in.jsonl"
    lines.write_text(
        json.dumps(
            {"type": "deploy.release.finished", "data": {"v": 1}, "source": "ci", "subject": "api"}
        )
        + "\n\n"
        + json.dumps({"type": "build.run.passed", "data": {"command": "make", "exit_code": 0}})
        + "\n"
    )
    done = vigil("ingest", str(lines), home=home)
    assert done.returncode == 0, done.stderr
    stored = events(home)
    assert [e["type"] for e in stored] == ["deploy.release.finished", "build.run.passed"]
    first = stored[0]
    for key in (
        "id",
        "type",
        "time",
        "source",
        "subject",
        "data",
        "fingerprint",
        "causation_id",
        "correlation_id",
    ):
        assert key in first
    assert first["source"] == "ci" and first["subject"] == "api" and first["data"] == {"v": 1}


def test_ingest_from_stdin(home: Path) -> None:
    """``vigil ingest -`` reads JSON lines from standard input."""
    done = vigil("ingest", "-", home=home, stdin='{"type": "a.b.c", "data": {}}\n')
    assert done.returncode == 0, done.stderr
    assert len(events(home)) == 1


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("{not json", "line 2: malformed JSON"),
        ('{"data": {}}', "line 2: missing field 'type'"),
        ('{"type": "Bad Type", "data": {}}', "line 2: invalid event type"),
        ('{"type": "a.b.c", "data": [1]}', "line 2: 'data' must be a JSON object"),
        ('{"type": "a.b.c", "data": {}, "colour": 1}', "line 2: unknown field 'colour'"),
        ('{"type": "build.run.failed", "data": {"exit_code": "one"}}', "line 2: build.run"),
        ("[1, 2]", "line 2: expected a JSON object"),
    ],
)
def test_ingest_rejects_a_bad_line_and_stores_nothing(
    home: Path, tmp_path: Path, line: str, needle: str
) -> None:
    """One malformed line rejects the whole file, naming the line, and stores nothing."""
    vigil("ingest", "-", home=home, stdin='{"type": "keep.me.stored", "data": {}}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "a.b.c", "data": {}}\n' + line + "\n")
    done = vigil("ingest", str(bad), home=home)
    assert done.returncode != 0
    assert needle in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert [e["type"] for e in events(home)] == ["keep.me.stored"]


@pytest.mark.parametrize(
    "args",
    [
        ("events", "--bogus"),
        ("events", "--since", "yesterday-ish"),
        ("events", "--limit", "many"),
        ("ingest", "/nonexistent/file.jsonl"),
        ("nosuchcommand",),
        ("triage", "--log", "/nonexistent.log"),
        ("events", "--id", "ev_missing"),
        ("run",),
    ],
)
def test_bad_input_gets_one_clear_line(home: Path, args: tuple[str, ...]) -> None:
    """A user's mistake exits non-zero with exactly one line on stderr and no traceback."""
    done = vigil(*args, home=home)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("vigil")
    assert "Traceback" not in done.stderr


def test_ingest_a_directory_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    """Handing ingest a directory is refused with one line."""
    done = vigil("ingest", str(tmp_path), home=home)
    assert done.returncode != 0 and "is a directory" in done.stderr


def test_events_filters_by_type_since_and_limit(home: Path) -> None:
    """``--type`` globs, ``--since`` and ``--limit`` narrow the listing, newest kept."""
    lines = "".join(
        json.dumps({"type": t, "data": {"i": i}}) + "\n"
        for i, t in enumerate(["build.run.started", "build.run.failed", "kb.entry.added"] * 3)
    )
    vigil("ingest", "-", home=home, stdin=lines)
    assert len(events(home, "--type", "build.*")) == 6
    assert len(events(home, "--type", "build.run.failed", "--type", "kb.*")) == 6
    assert [e["data"]["i"] for e in events(home, "--limit", "2")] == [7, 8]
    assert events(home, "--since", "2h")
    assert events(home, "--since", "2999-01-01T00:00:00Z") == []


def test_events_human_output_and_id_lookup(home: Path) -> None:
    """Without --json events print one readable line each, and --id prints one in full."""
    vigil("ingest", "-", home=home, stdin='{"type": "a.b.c", "data": {"k": "v"}}\n')
    listing = vigil("events", home=home)
    assert listing.returncode == 0 and "a.b.c" in listing.stdout
    event_id = events(home)[0]["id"]
    shown = vigil("events", "--id", event_id, home=home)
    assert json.loads(shown.stdout)["data"] == {"k": "v"}


def test_status_json_without_daemon(home: Path) -> None:
    """``vigil status --json`` reports the daemon down and counts events."""
    vigil("ingest", "-", home=home, stdin='{"type": "a.b.c", "data": {}}\n')
    done = vigil("status", "--json", home=home)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["daemon"]["running"] is False
    assert status["events"]["count"] == 1


def test_bad_config_is_one_line(home: Path) -> None:
    """A broken config.toml is reported in one line, not a traceback."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[daemon\nport = 'x'")
    done = vigil("events", home=home)
    assert done.returncode != 0
    assert "config.toml" in done.stderr and len(done.stderr.strip().splitlines()) == 1
