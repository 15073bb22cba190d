"""``vigil stats``: the report on a fresh home and on a home with flushed metrics."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import vigil
from vigil.cli.stats import cmd_stats, collect_stats, render
from vigil.config import Settings
from vigil.reliability.metrics import Metrics
from vigil.reliability.resources import ResourceSample
from vigil.storage import Database
from vigil.testing import FakeClock

_WIRED = (
    subprocess.run(
        [sys.executable, "-m", "vigil", "stats", "--help"], capture_output=True, check=False
    ).returncode
    == 0
)
needs_wiring = pytest.mark.skipif(not _WIRED, reason="`stats` is not in the CLI parser yet")


def _record(settings: Settings, now: datetime) -> None:
    """What a daemon would have flushed: a day of fast calls, then a slower, failing hour."""
    clock = FakeClock(now - timedelta(hours=3))
    metrics = Metrics(clock)
    for _ in range(20):
        metrics.observe("handler_seconds", 0.010, consumer="triage")
    metrics.count("events_published", 20)
    clock.advance(3 * 3600 - 300)  # five minutes ago
    for i in range(10):
        metrics.observe("handler_seconds", 0.020, ok=i > 0, consumer="triage")
    metrics.count("events_published", 10)
    metrics.record_resources(
        ResourceSample(
            at=(now - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
            pid=4242,
            cpu_seconds=12.5,
            cpu_percent=1.25,
            rss_bytes=48 * 1024 * 1024,
            open_fds=23,
            threads=6,
            home_bytes=3 * 1024 * 1024,
        )
    )
    with Database(settings.db_path) as db:
        metrics.flush(db)


def _stats_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert cmd_stats(argparse.Namespace(json=True)) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_a_fresh_home_prints_an_empty_report_and_creates_nothing(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a home with no database, ``stats --json`` is an empty report, not an error."""
    data = _stats_json(capsys)
    assert data["metrics"] == []
    assert data["resources"] is None
    assert data["daemon_running"] is False
    assert set(data["window"]) == {"last_hour", "previous_day"}
    assert not settings.db_path.exists()
    assert cmd_stats(argparse.Namespace(json=False)) == 0
    text = capsys.readouterr().out
    assert "no metrics recorded yet" in text
    assert "not running" in text


def test_a_database_without_metrics_gets_an_empty_report_and_no_tables(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """A home whose database predates metrics is reported empty and left as it was."""
    with Database(settings.db_path) as db:
        db.execute("CREATE TABLE other (x)")
    assert _stats_json(capsys)["metrics"] == []
    with Database(settings.db_path) as db:
        tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"other"}


def test_flushed_metrics_are_reported_with_their_trend(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """``stats --json`` reads flushed rollups: counts per window, percentiles and the trend."""
    _record(settings, datetime.now(UTC))
    data = _stats_json(capsys)
    (handler,) = [m for m in data["metrics"] if m["name"] == "handler_seconds"]
    assert handler["labels"] == {"consumer": "triage"}
    assert handler["kind"] == "timer"
    assert (handler["last_hour"]["count"], handler["last_hour"]["failures"]) == (10, 1)
    assert handler["previous_day"]["count"] == 20
    assert (handler["last_hour"]["p95"], handler["previous_day"]["p95"]) == (0.02, 0.01)
    assert handler["trend"]["p95_change_pct"] == 100.0
    assert handler["trend"]["success_change_pts"] == -10.0
    (published,) = [m for m in data["metrics"] if m["name"] == "events_published"]
    assert (published["last_hour"]["count"], published["previous_day"]["count"]) == (10, 20)
    resources = data["resources"]
    assert (resources["pid"], resources["rss_bytes"]) == (4242, 48 * 1024 * 1024)
    assert resources["daemon_running"] is False
    assert 250 < resources["age_s"] < 3600


def test_the_human_report_is_an_aligned_table_per_kind(settings: Settings) -> None:
    """Without ``--json``: timings with percentiles and trend, counters, gauges, resources."""
    now = datetime.now(UTC)
    _record(settings, now)
    text = render(collect_stats(settings, FakeClock(now)))
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("timing"))
    row = next(line for line in lines if line.startswith("handler_seconds"))
    assert header.index("p95") < header.index("trend")
    assert "consumer=triage" in row and "90.0%" in row and "20ms" in row
    assert row.endswith("p95 +100% vs day, success 90.0% (-10.0 pts)")
    assert header.index("calls") + len("calls") == row.index("10") + 2  # right-aligned column
    assert any(line.startswith("events_published") for line in lines)
    assert any(line.startswith("process_rss_bytes") and "48.0 MiB" in line for line in lines)
    assert "daemon      not running" in text
    assert "rss 48.0 MiB  fds 23  threads 6  home 3.0 MiB" in text


def test_stats_does_not_import_the_web_stack(home: Path) -> None:
    """``vigil stats`` stays a quick reading command: no starlette, uvicorn or prometheus_client."""
    code = (
        "import argparse, sys\n"
        "from vigil.cli.stats import cmd_stats\n"
        "cmd_stats(argparse.Namespace(json=True))\n"
        "heavy = {'starlette', 'uvicorn', 'prometheus_client'} & set(sys.modules)\n"
        "sys.exit(f'imported {sorted(heavy)}' if heavy else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"VIGIL_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr


@needs_wiring
def test_the_real_cli_on_a_fresh_home(home: Path) -> None:
    """``python -m vigil stats --json`` on a fresh home exits 0 with an empty report."""
    done = vigil("stats", "--json", home=home)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["metrics"] == [] and data["resources"] is None


@needs_wiring
def test_the_real_cli_on_a_home_with_flushed_metrics(home: Path, settings: Settings) -> None:
    """``python -m vigil stats`` reports what a daemon flushed, as JSON and as a table."""
    _record(settings, datetime.now(UTC))
    done = vigil("stats", "--json", home=home)
    assert done.returncode == 0, done.stderr
    names = {m["name"] for m in json.loads(done.stdout)["metrics"]}
    assert {"handler_seconds", "events_published", "process_rss_bytes"} <= names
    table = vigil("stats", home=home)
    assert table.returncode == 0, table.stderr
    assert "handler_seconds" in table.stdout and "p95" in table.stdout
