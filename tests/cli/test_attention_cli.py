"""The attention commands through the real CLI: notify, inbox, digest, focus, why, replay, and
the daemon deciding what other processes ask."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.helpers import daemon, events, vigil, wait_for

REPO = Path(__file__).resolve().parents[2]
DAY = REPO / "tests" / "fixtures" / "attention"


def _inbox(home: Path) -> list[dict[str, Any]]:
    done = vigil("inbox", "--json", "--limit", "100", home=home)
    assert done.returncode == 0, done.stderr
    parsed: list[dict[str, Any]] = json.loads(done.stdout)
    return parsed


def test_notify_without_a_daemon_is_delivered_here(home: Path) -> None:
    """`vigil notify` with no daemon decides and delivers at once (a person's own request is
    always delivered), from source vigil.cli; the inbox has one entry with that decision, and
    the next command shows the terminal notice once."""
    done = vigil("notify", "Build finished", "--body", "make all: ok", home=home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("delivered ev_")
    (entry,) = _inbox(home)
    assert entry["title"] == "Build finished" and entry["source"] == "vigil.cli"
    assert entry["status"] == "delivered" and entry["decision"]["gate"] == "intent"
    assert entry["decision"]["score"] is not None
    (requested,) = events(home, "--type", "notification.requested")
    (decided,) = events(home, "--type", "notification.delivered")
    assert requested["source"] == "vigil.cli"
    assert decided["causation_id"] == requested["id"]
    assert decided["data"]["channel"] in ("terminal", "desktop")
    shown = vigil("status", home=home)
    again = vigil("status", home=home)
    assert "Build finished" not in shown.stderr + again.stderr  # the inbox counted as seen


def test_terminal_notice_is_shown_on_the_next_command(home: Path) -> None:
    """A delivered notice waits for the next `vigil` command's stderr, once."""
    assert vigil("notify", "Deploy window opens", home=home).returncode == 0
    first = vigil("events", "--limit", "1", home=home)
    second = vigil("events", "--limit", "1", home=home)
    assert "Deploy window opens" in first.stderr
    assert "Deploy window opens" not in second.stderr


def test_bad_notify_input_stores_nothing(home: Path) -> None:
    """An empty title or an unknown severity: one line on stderr, exit 2, nothing stored."""
    for args in (["   "], ["x", "--severity", "bogus"]):
        done = vigil("notify", *args, home=home)
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert events(home) == []


def test_focus_publishes_until_and_off(home: Path) -> None:
    """`vigil focus 45m` publishes attention.focus.changed with an ISO `until`; `off` with null."""
    assert vigil("focus", "45m", home=home).returncode == 0
    assert vigil("focus", "off", home=home).returncode == 0
    bad = vigil("focus", "soon", home=home)
    assert bad.returncode == 2 and "duration" in bad.stderr
    changes = events(home, "--type", "attention.focus.changed")
    assert changes[0]["data"]["until"].endswith("Z") and changes[1]["data"]["until"] is None
    assert all(c["source"] == "vigil.cli" for c in changes)


def test_replay_of_the_recorded_day(home: Path) -> None:
    """The recorded day replays on its own clock: every request decided and in the inbox, each
    critical condition told at once, the storm told once, and the report names gates."""
    done = vigil(
        "attention", "replay", str(DAY / "day.jsonl"), "--config", str(DAY / "config.toml"),
        "--json", home=home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    totals = report["totals"]
    assert totals["undecided"] == 0 and totals["rejected"] == 0
    assert totals["requests"] == totals["delivered"] + totals["suppressed"]
    titles = [i["title"] for i in report["interruptions"]]
    for critical in ("Alert APIDown", "Alert PaymentsDown", "Alert DiskFull"):
        (told,) = [i for i in report["interruptions"] if i["title"].startswith(critical)]
        assert told["after_s"] == 0 and told["severity"] == "critical"
    assert sum(t.startswith("Alert DiskPressure") for t in titles) == 1
    assert not any(t.startswith("Alert HighLatency") for t in titles)  # night, flapping
    assert {"throttling", "context"} <= {q["gate"] for q in report["quiet"]}
    assert events(home) == []  # a scratch store: this home is untouched
    text = vigil("attention", "replay", str(DAY / "day.jsonl"), home=home)
    assert text.returncode == 0 and "what would have interrupted" in text.stdout


def test_replay_rejects_a_stream_without_times(home: Path, tmp_path: Path) -> None:
    """A stream whose first event has no time cannot run on the event clock: one line, exit 2."""
    stream = tmp_path / "bad.jsonl"
    stream.write_text('{"type": "alert.fired", "data": {}}\n')
    done = vigil("attention", "replay", str(stream), home=home)
    assert done.returncode == 2 and "line 1: no time" in done.stderr


def test_daemon_raises_decides_and_explains(home: Path) -> None:
    """With the daemon up: an ingested critical alert is raised (caused by the alert), delivered
    and explained by `vigil why`; a malformed request is rejected and kept; a storm of identical
    requests is delivered once and folded into one digest line."""
    alert = {
        "type": "alert.fired",
        "data": {"alertname": "APIDown", "labels": {"severity": "critical"},
                 "annotations": {"summary": "api is down"}, "fingerprint": "abc"},
    }  # fmt: skip
    malformed = {"type": "notification.requested", "data": {"severity": "bogus"}}
    storm = {"type": "notification.requested", "data": {"title": "Disk full", "severity":
             "error", "fingerprint": "disk"}}  # fmt: skip
    lines = [alert, malformed] + [storm] * 20
    with daemon(home):
        done = vigil("ingest", "-", "--json", home=home,
                     stdin="".join(json.dumps(line) + "\n" for line in lines))  # fmt: skip
        alert_id = json.loads(done.stdout)["ids"][0]

        def decided() -> list[dict[str, Any]] | None:
            entries = _inbox(home)
            return entries if len(entries) == 22 and all(e["decision"] for e in entries) else None

        entries = wait_for(decided, timeout=20)
    raised = next(e for e in entries if e["causation_id"] == alert_id)
    assert raised["severity"] == "critical" and raised["status"] == "delivered"
    assert [e["status"] for e in entries].count("rejected") == 1
    disk = [e for e in entries if e["title"] == "Disk full"]
    assert [e["status"] for e in disk].count("delivered") == 1
    digest = json.loads(vigil("digest", "--json", home=home).stdout)
    (line,) = [x for x in digest["lines"] if x["title"] == "Disk full"]
    assert line["count"] == 19
    why = vigil("why", raised["decision"]["id"], home=home)
    assert why.returncode == 0, why.stderr
    assert "activity" in why.stdout and "significance" in why.stdout
    assert "because of alert.fired" in why.stdout


def test_daemon_holds_during_focus_and_releases_when_it_ends(home: Path) -> None:
    """With the daemon on the system clock: a request during a short focus is deferred, and the
    daemon's timer releases it when focus ends, as a second decision on the same request."""
    with daemon(home):
        assert vigil("focus", "3s", home=home).returncode == 0
        asked = {"type": "notification.requested",
                 "data": {"title": "CI failed on main", "severity": "error"}}  # fmt: skip
        done = vigil("ingest", "-", "--json", home=home, stdin=json.dumps(asked) + "\n")
        request_id = json.loads(done.stdout)["ids"][0]

        def both() -> list[dict[str, Any]] | None:
            decisions = [
                e for e in events(home, "--type", "notification.*")
                if e["causation_id"] == request_id
            ]  # fmt: skip
            return decisions if len(decisions) == 2 else None

        first, second = wait_for(both, timeout=20)
    assert first["type"] == "notification.deferred" and first["data"]["gate"] == "context"
    assert second["type"] == "notification.delivered"
    assert second["data"]["released"]["gate"] == "context"
    assert second["time"] >= first["data"]["until"][:19]
