"""A hanging git is cut off by its breaker: ``vigil run`` stops waiting for it, in every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _run(home: Path, cwd: Path, path: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "VIGIL_HOME": str(home), "PATH": path, "VIGIL_GIT_TIMEOUT_S": "0.3"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "run", "--", "true"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, time.monotonic() - started


def test_hanging_git_opens_the_breaker_and_runs_go_on_without_it(
    home: Path, tmp_path: Path
) -> None:
    """After three git timeouts the git breaker is open (stored, so the next process sees it):
    later runs skip git at once, still record the run, and ``vigil health`` shows it open."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake_git = fake_bin / "git"
    fake_git.write_text("#!/bin/sh\nsleep 30\n")
    fake_git.chmod(0o755)
    path = f"{fake_bin}:{os.environ['PATH']}"
    for _ in range(2):  # two git calls per run: the breaker opens during the second run
        done, _ = _run(home, tmp_path, path)
        assert done.returncode == 0
    after, elapsed = _run(home, tmp_path, path)
    assert after.returncode == 0
    assert elapsed < 5  # no 0.3 s git waits, let alone hung ones
    env = {**os.environ, "VIGIL_HOME": str(home)}
    health = subprocess.run(
        [sys.executable, "-m", "vigil", "health", "--json"], env=env, capture_output=True, text=True
    )
    breakers = {b["name"]: b for b in json.loads(health.stdout)["breakers"]}
    assert breakers["git"]["state"] == "open"
    runs = subprocess.run(
        [sys.executable, "-m", "vigil", "events", "--json", "--type", "build.run.passed"],
        env=env,
        capture_output=True,
        text=True,
    )
    passed = json.loads(runs.stdout)
    assert len(passed) == 3 and passed[-1]["data"]["git"] is None
    opened = subprocess.run(
        [sys.executable, "-m", "vigil", "events", "--json", "--type", "breaker.*"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert [(e["type"], e["subject"]) for e in json.loads(opened.stdout)] == [
        ("breaker.opened", "git")
    ]
