"""``vigil run``: pass-through, exit codes, recorded events, diagnosis, suspects and learning,
on real commands in real git repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.helpers import events, vigil, with_sigint

CALC_OK = "def add(a, b):\n    return a + b\n"
CALC_BROKEN = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def make_project(tmp_path: Path) -> Path:
    repo = tmp_path / "proj"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC_OK)
    (repo / "test_calc.py").write_text(TEST)
    (repo / "README").write_text("demo\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "initial")
    return repo


def pytest_cmd() -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_calc.py"]


def test_exit_code_output_and_events(home: Path, tmp_path: Path) -> None:
    """The command's exit code, stdout and stderr pass through; started and failed are recorded."""
    done = vigil(
        "run", "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 3", home=home, cwd=tmp_path
    )
    assert done.returncode == 3
    assert "to-out" in done.stdout
    assert done.stderr.startswith("to-err")
    assert "failed (exit 3)" in done.stderr
    stored = events(home)
    types = [e["type"] for e in stored]
    assert types[:2] == ["build.run.started", "build.run.failed"]
    failed = stored[1]
    data = failed["data"]
    assert data["exit_code"] == 3 and data["cwd"] == str(tmp_path)
    assert "to-out" in data["output_tail"] and "to-err" in data["output_tail"]
    assert data["duration_ms"] >= 0 and data["git"] is None
    assert data["command"] == "sh -c 'echo to-out; echo to-err >&2; exit 3'"
    assert failed["causation_id"] == stored[0]["id"]
    triage = [e for e in stored if e["type"] == "triage.completed"]
    assert len(triage) == 1 and triage[0]["causation_id"] == failed["id"]


def test_passing_command_records_passed(home: Path, tmp_path: Path) -> None:
    """A command that succeeds exits 0 and records build.run.passed with no diagnosis."""
    done = vigil("run", "--", "true", home=home, cwd=tmp_path)
    assert done.returncode == 0 and "vigil" not in done.stderr
    assert [e["type"] for e in events(home)] == ["build.run.started", "build.run.passed"]


def test_command_that_cannot_start_exits_127(home: Path, tmp_path: Path) -> None:
    """A command that cannot be started exits 127 with a clear line, and is recorded."""
    done = vigil("run", "--", "/nonexistent/tool", "--flag", home=home, cwd=tmp_path)
    assert done.returncode == 127
    assert "cannot run '/nonexistent/tool'" in done.stderr
    assert "Traceback" not in done.stderr
    failed = events(home, "--type", "build.run.failed")[0]
    assert failed["data"]["exit_code"] == 127


def test_output_tail_is_bounded(home: Path, tmp_path: Path) -> None:
    """A huge output passes through whole but only a bounded tail is stored."""
    script = "import sys\nfor i in range(200000): sys.stdout.write(f'line {i}\\n')\nsys.exit(1)"
    done = vigil("run", "--", sys.executable, "-c", script, home=home, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.count("\n") == 200000
    data = events(home, "--type", "build.run.failed")[0]["data"]
    assert data["truncated"] is True
    assert len(data["output_tail"].encode()) <= 64 * 1024
    assert data["output_tail"].endswith("line 199999\n")
    assert data["output_bytes"] > 2_000_000


def test_terminal_is_kept_for_the_command(home: Path, tmp_path: Path) -> None:
    """Under a terminal, the command sees a terminal too (so it keeps colours and progress)."""
    probe = "import sys; print('TTY' if sys.stdout.isatty() else 'PIPE')"
    runner = (
        "import os, pty, sys\n"
        f"os.environ['VIGIL_HOME'] = {str(home)!r}\n"
        "pty.spawn([sys.executable, '-m', 'vigil', 'run', '--', sys.executable, '-c', "
        f"{probe!r}])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", runner], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert "TTY" in done.stdout, done.stdout + done.stderr
    tail = events(home, "--type", "build.run.passed")[0]["data"]["output_tail"]
    assert "TTY" in tail


def test_red_green_red_learns_and_suggests_the_fix(home: Path, tmp_path: Path) -> None:
    """A failure shows the changed file as prime suspect; after the fix passes, the same
    failure again shows what fixed it last time, in the terminal and in known_fixes."""
    repo = make_project(tmp_path)
    assert vigil("run", "--", *pytest_cmd(), home=home, cwd=repo).returncode == 0

    (repo / "calc.py").write_text(CALC_BROKEN)
    red = vigil("run", "--", *pytest_cmd(), home=home, cwd=repo)
    assert red.returncode == 1
    assert "test_add" in red.stdout  # pytest's own output passed through
    assert "suspects" in red.stderr and "calc.py" in red.stderr
    triage = events(home, "--type", "triage.completed")[-1]["data"]
    assert triage["suspects"][0]["path"] == "calc.py"
    assert triage["failures"][0]["tool"] == "pytest"
    assert triage["history"]["seen"] == 0
    fingerprint = triage["fingerprint"]
    assert fingerprint

    (repo / "calc.py").write_text(CALC_OK)
    green = vigil("run", "--", *pytest_cmd(), home=home, cwd=repo)
    assert green.returncode == 0
    assert "learned a candidate fix" in green.stderr
    learned = events(home, "--type", "knowledge.fix.learned")
    assert len(learned) == 1 and learned[0]["data"]["files"] == ["calc.py"]

    (repo / "calc.py").write_text(CALC_BROKEN)
    again = vigil("run", "--", *pytest_cmd(), home=home, cwd=repo)
    assert again.returncode == 1
    assert "last time this was fixed by" in again.stderr
    triage = events(home, "--type", "triage.completed")[-1]["data"]
    assert triage["fingerprint"] == fingerprint
    assert triage["history"]["seen"] == 1
    fix = triage["known_fixes"][0]
    assert fix["match"] == "fingerprint" and fix["status"] == "candidate"
    assert fix["files"] == ["calc.py"]


def test_committed_change_is_a_suspect_with_its_commit(home: Path, tmp_path: Path) -> None:
    """A change committed since the last green run is a suspect that names its commit."""
    repo = make_project(tmp_path)
    assert vigil("run", "--", *pytest_cmd(), home=home, cwd=repo).returncode == 0
    (repo / "calc.py").write_text(CALC_BROKEN)
    (repo / "README").write_text("demo, changed\n")
    git(repo, "commit", "-qam", "Refactor add")
    assert vigil("run", "--", *pytest_cmd(), home=home, cwd=repo).returncode == 1
    triage = events(home, "--type", "triage.completed")[-1]["data"]
    paths = [s["path"] for s in triage["suspects"]]
    assert paths[0] == "calc.py" and "README" in paths
    assert triage["suspects"][0]["committed"] is True
    assert triage["since_pass"]["commits"][0]["subject"] == "Refactor add"


def test_flaky_failure_on_unchanged_tree(home: Path, tmp_path: Path) -> None:
    """The same failure that came and went on an unchanged tree is reported flaky."""
    repo = make_project(tmp_path)
    marker = tmp_path / "flaky-marker"
    cmd = [
        "run",
        "--",
        sys.executable,
        "-c",
        "import os, sys\nassert not os.path.exists(sys.argv[1]), 'database not ready'",
        str(marker),
    ]
    marker.touch()
    assert vigil(*cmd, home=home, cwd=repo).returncode == 1
    marker.unlink()
    assert vigil(*cmd, home=home, cwd=repo).returncode == 0
    marker.touch()
    third = vigil(*cmd, home=home, cwd=repo)
    assert third.returncode == 1
    triage = events(home, "--type", "triage.completed")[-1]["data"]
    assert triage["history"]["flaky"] is True
    assert triage["history"]["seen"] == 1
    assert "flaky" in third.stderr


def test_command_runs_even_when_the_state_cannot_be_stored(tmp_path: Path) -> None:
    """An unusable VIGIL_HOME never stops the user's command; its exit code and output are kept."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    done = vigil("run", "--", "sh", "-c", "echo ran; exit 4", home=blocker / "home", cwd=tmp_path)
    assert done.returncode == 4
    assert "ran" in done.stdout
    assert "not recorded" in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_stops_the_command_and_is_recorded_as_interrupted(
    home: Path, tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT to the foreground group) ends the command, ``vigil run`` exits with its
    status, records the run as interrupted, and prints one line instead of a diagnosis."""
    import signal
    import time

    env = {**os.environ, "VIGIL_HOME": str(home)}
    proc = subprocess.Popen(
        with_sigint("default", [sys.executable, "-m", "vigil", "run", "--", "sleep", "30"]),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while not events(home, "--type", "build.run.started"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    failed = events(home, "--type", "build.run.failed")[0]["data"]
    assert failed["interrupted"] is True and failed["exit_code"] == 130
