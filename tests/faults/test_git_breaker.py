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
    for _ in range(2):  # one failed git job per run: the third opens the breaker
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


def test_hanging_git_never_holds_the_command_and_the_diagnosis_says_why(
    home: Path, tmp_path: Path
) -> None:
    """git that hangs gets ``git_wait_s`` after the command ends, not its 5 s timeout: the run
    comes back, the killed git process is gone, and the diagnosis says why git facts are missing."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    pids = tmp_path / "pids"
    fake_git = fake_bin / "git"
    fake_git.write_text(f"#!/bin/sh\necho $$ >> {pids}\nexec sleep 30\n")
    fake_git.chmod(0o755)
    env = {
        **os.environ,
        "VIGIL_HOME": str(home),
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "VIGIL_GIT_WAIT_S": "0.2",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vigil",
            "run",
            "--",
            "sh",
            "-c",
            "echo 'a.c:1:1: error: x'; exit 1",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,  # the fake git sleeps 30 s
    )
    assert done.returncode == 1
    assert "note: no git facts: git did not answer within 0.2 s" in done.stderr
    for pid in pids.read_text().split():
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        ), "a git process outlived the run"
    env.pop("PATH")
    runs = subprocess.run(
        [sys.executable, "-m", "vigil", "events", "--json", "--type", "build.run.*"],
        env={**os.environ, "VIGIL_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    started, failed = json.loads(runs.stdout)
    assert started["data"]["git"] is None and failed["data"]["git"] is None
    assert failed["data"]["git_note"].startswith("no git facts: git did not answer")
