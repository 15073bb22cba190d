"""Sessions by idle gap, the briefing, and predictions from real `vigil run` histories."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.cli.helpers import vigil
from vigil.memory.session import Sessions
from vigil.testing import FakeClock


def test_sessions_split_on_idle_gaps(tmp_path: Path) -> None:
    """Activity within the gap continues a session; after a longer gap a new one starts, once,
    remembering where the previous one ended."""
    clock = FakeClock(datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
    sessions = Sessions(tmp_path, timedelta(hours=2))
    first, new = sessions.touch(clock.now())
    assert new and first.previous_end is None
    clock.advance(3600)
    same, new = sessions.touch(clock.now())
    assert not new and same.started == first.started
    end = clock.now()
    clock.advance(3 * 3600)
    later, new = sessions.touch(clock.now())
    assert new and later.previous_end == end
    assert not sessions.touch(clock.now())[1]


def test_brief_on_an_empty_store_says_so(home: Path) -> None:
    """`vigil brief` on a fresh home says plainly that nothing is recorded yet."""
    done = vigil("brief", home=home)
    assert done.returncode == 0
    assert "Nothing recorded yet" in done.stdout
    data = json.loads(vigil("brief", "--json", home=home).stdout)
    assert data["empty"] is True
    for key in ("since", "failures", "fixes_learned", "ci", "alerts", "pending", "predictions"):
        assert key in data


def test_first_command_after_an_idle_gap_prints_the_short_briefing_once(home: Path) -> None:
    """The first command after an idle gap prints what happened since the last session (on
    stderr, after its own output); the next command does not."""
    assert vigil("run", "--", sys.executable, "-c", "raise SystemExit(3)", home=home).returncode
    marks = home / "run" / "session.json"
    state = json.loads(marks.read_text())
    state["last_active"] = state["started"] = "2020-01-01T00:00:00Z"
    marks.write_text(json.dumps(state))
    ci = '{"type": "ci.run.failed", "data": {"repository": "acme/shop", "workflow": "tests"}}'
    first = vigil("ingest", "-", stdin=ci, home=home)
    assert "welcome back" in first.stderr and "still red" in first.stderr
    assert first.stdout.startswith("ingested")
    second = vigil("events", "--limit", "1", home=home)
    assert "welcome back" not in second.stderr


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_predictions_from_real_runs_with_backtested_hit_rates(home: Path, tmp_path: Path) -> None:
    """Runs in a real git repo where breaking calc.py fails check.py: the history yields
    "after a change to calc.py, check.py fails" with its evidence and a back-tested hit rate;
    `vigil run` then mentions it on a foreseen failure. Too little history says so instead."""
    (home / "config.toml").write_text(
        (home / "config.toml").read_text() + "\n[memory]\npredict_min_evidence = 2\n"
    )
    repo = tmp_path / "proj"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "check.py").write_text("from calc import add\nassert add(2, 3) == 5, add(2, 3)\n")
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "start")
    command = [sys.executable, "check.py"]
    assert vigil("run", "--", *command, home=home, cwd=repo).returncode == 0
    assert (
        "not enough history"
        in json.loads(vigil("brief", "--json", home=home).stdout)["prediction_note"]
    )
    done = None
    for i in range(6):
        (repo / "calc.py").write_text(f"def add(a, b):\n    return a - b + {i}\n")
        done = vigil("run", "--explain", "--", *command, home=home, cwd=repo)
        assert done.returncode == 1
        (repo / "calc.py").write_text(f"def add(a, b):\n    return a + b  # {i}\n")
        assert vigil("run", "--", *command, home=home, cwd=repo).returncode == 0
    brief = json.loads(vigil("brief", "--json", home=home).stdout)
    rules = [p for p in brief["predictions"] if p["kind"] == "change_failure"]
    assert rules, brief["prediction_note"]
    rule = rules[0]
    assert rule["cause"] == "calc.py" and rule["effect"] == "check.py"
    assert rule["backtested"] >= 2 and rule["hit_rate"] == round(
        rule["hits"] / rule["backtested"], 3
    )
    assert "calc.py changed in" in rule["evidence"]
    assert done is not None and "foreseen" in done.stderr
