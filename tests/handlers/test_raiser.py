"""The raiser: every source event that has something to tell becomes one request, caused by it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.notify.conftest import at, event
from vigil.clock import SystemClock
from vigil.events import catalog
from vigil.events.log import SqliteEventLog
from vigil.handlers.raiser import Raiser, requests_for
from vigil.notify.request import parse_request
from vigil.storage import Database

CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    (
        "ci.run.failed",
        {"repository": "acme/shop", "branch": "main", "head_sha": "abc123", "workflow": "tests",
         "conclusion": "failure", "url": "https://ci.example/run/1"},
        "CI failed: tests on main", "error", "ci:acme/shop:tests:main",
    ),
    (
        "alert.fired",
        {"alertname": "HighLatency", "labels": {"severity": "critical", "env": "prod"},
         "annotations": {"summary": "p99 over 2 s"}, "fingerprint": "f00d"},
        "Alert HighLatency: p99 over 2 s", "critical", "alert:f00d",
    ),
    (
        "alert.fired",
        {"alertname": "DiskFilling", "labels": {"severity": "warning"}, "annotations": {}},
        "Alert DiskFilling", "warning", "alert:DiskFilling:",
    ),
    (
        "probe.failed",
        {"name": "api", "kind": "http", "target": "http://127.0.0.1:9/health", "error": "refused"},
        "Probe api failing", "error", "probe:api",
    ),
    (
        "log.anomaly.detected",
        {"path": "/var/log/app.log", "kind": "error_burst", "template": "ERROR db <*>",
         "samples": ["ERROR db timeout"], "baseline": 0.1},
        "Log error burst in app.log", "warning", "log:/var/log/app.log:error_burst:",
    ),
    (
        "component.process.isolated",
        {"component": "consumer.triage", "error": "RuntimeError: boom"},
        "Vigil isolated its component consumer.triage", "error", "component:consumer.triage",
    ),
    (
        "action.proposed",
        {"id": "pr_1", "action": "run", "why": "tests failed", "expires_at": "2026-03-02T11:00Z"},
        "Approval needed: run", "warning", "proposal:pr_1",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "data", "title", "severity", "key"), CASES)
def test_source_event_raises_one_request(
    kind: str, data: dict[str, Any], title: str, severity: str, key: str
) -> None:
    """Each producer's event maps to a request with its title, severity and fingerprint, caused
    by the event, at the event's time, and valid for the notifier."""
    cause = event(kind, data, when=at(3))
    (raised,) = requests_for(cause)
    assert raised.type == catalog.NOTIFICATION_REQUESTED
    assert raised.causation_id == cause.id and raised.correlation_id == cause.id
    assert raised.time == cause.time
    request = parse_request(raised)
    assert request.title == title and request.severity == severity
    assert request.key.startswith(key)


@pytest.mark.parametrize(
    ("kind", "data", "key"),
    [
        ("ci.run.passed", {"repository": "acme/shop", "branch": "main", "workflow": "tests"},
         "ci:acme/shop:tests:main"),
        ("alert.resolved", {"alertname": "HighLatency", "fingerprint": "f00d"}, "alert:f00d"),
        ("probe.recovered", {"name": "api"}, "probe:api"),
    ],
)  # fmt: skip
def test_recovery_resolves_the_same_fingerprint(kind: str, data: dict[str, Any], key: str) -> None:
    """A recovery names the fingerprint its failure's request carried."""
    (resolved,) = requests_for(event(kind, data))
    assert resolved.type == catalog.ATTENTION_CONDITION_RESOLVED
    assert resolved.data["fingerprint"] == key


def _triage(seen: int, flaky: bool = False, fixes: int = 0) -> dict[str, Any]:
    return {
        "failures": [{"tool": "pytest"}],
        "fingerprint": "5c0e6f1d",
        "summary": "1 failure (pytest): test_calc.py:5 AssertionError",
        "history": {"seen": seen, "flaky": flaky},
        "known_fixes": [{"id": "kb_1", "title": "Reset the database"}][:fixes],
        "suspects": [{"path": "calc.py"}],
    }


@pytest.mark.parametrize(
    ("seen", "flaky", "fixes", "title", "severity"),
    [
        (0, False, 0, "New failure: pytest -q", "error"),
        (3, False, 1, "Still failing (4 times): pytest -q", "warning"),
        (1, True, 0, "Flaky failure: pytest -q", "info"),
    ],
)
def test_triage_raises_by_history(
    tmp_path: Path, seen: int, flaky: bool, fixes: int, title: str, severity: str
) -> None:
    """A triage becomes a new, persisting or flaky failure request; a known fix is in the body;
    a failure from a `vigil run` terminal says so (the context gate uses it)."""
    log = SqliteEventLog(Database(tmp_path / "vigil.db"), SystemClock())
    failure = event(
        "build.run.failed",
        {"command": "pytest -q", "cwd": "/src", "exit_code": 1, "duration_ms": 2100.0,
         "output_tail": "", "git": {"branch": "main"}},
        source="vigil.cli", subject="pytest -q",
    )  # fmt: skip
    (failure,) = log.append([failure])
    triaged = event(
        "triage.completed", _triage(seen, flaky, fixes), subject="pytest -q",
        causation_id=failure.id,
    )  # fmt: skip
    (raised,) = Raiser(log).handle(triaged).events
    request = parse_request(raised)
    assert (request.title, request.severity) == (title, severity)
    assert request.key == "build:5c0e6f1d"
    assert request.signals["terminal"] is True and request.signals["duration_s"] == 2.1
    assert request.signals["branch"] == "main" and request.signals["main_branch"] is True
    assert ("Known fix: Reset the database" in request.body) == bool(fixes)
    log.db.close()


def test_other_events_raise_nothing() -> None:
    """An event nobody needs to hear about raises no request."""
    assert requests_for(event("build.run.passed", {"command": "make"})) == []
