"""A state directory with something of everything the dashboard shows, made by the real CLI.

Untrusted text is planted where people and tools put it: a pytest parameter id and an
assertion message (they reach the failures and the triage card), a notification's title and
body, a knowledge entry, an ingested event's subject and data.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.cli.helpers import events, vigil

PLANTED = "<script>window.__planted=1</script>"
PLANTED_IMG = "<img src=x onerror=window.__planted=2>"
TEST_FILE = f'''import pytest
from calc import add


@pytest.mark.parametrize("label", ["{PLANTED}"])
def test_add(label):
    assert add(2, 3) == 5, "{PLANTED_IMG}"
'''


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


def make_project(project: Path) -> None:
    project.mkdir(parents=True, exist_ok=True)
    git(project, "init", "-q")
    git(project, "config", "user.email", "dev@example.com")
    git(project, "config", "user.name", "Dev")
    (project / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (project / "test_calc.py").write_text(TEST_FILE)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "calc")


def run_tests(home: Path, project: Path) -> int:
    done = vigil(
        "run",
        "--",
        "python3",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        home=home,
        cwd=project,
    )
    return done.returncode


def build(home: Path, project: Path) -> dict[str, Any]:
    """Green, red, green again (a fix is learned), red again (the fix is known); a notice, a
    proposal, a note, an event with planted markup. Returns ids the tests look for."""
    make_project(project)
    assert run_tests(home, project) == 0
    calc = project / "calc.py"
    calc.write_text("def add(a, b):\n    return a - b\n")
    assert run_tests(home, project) == 1
    calc.write_text("def add(a, b):\n    return a + b\n")
    assert run_tests(home, project) == 0
    calc.write_text("def add(a, b):\n    return a - b\n")
    assert run_tests(home, project) == 1
    told = vigil(
        "notify", f"Deploy {PLANTED}", "--body", PLANTED_IMG, "--severity", "warning", home=home
    )
    assert told.returncode == 0, told.stderr
    proposed = vigil(
        "propose", "--why", f"rerun {PLANTED}", "--", "echo", "hi", home=home, cwd=project
    )
    assert proposed.returncode == 0, proposed.stderr
    note = vigil(
        "kb",
        "add",
        "note",
        f"Planted {PLANTED}",
        "--body",
        "Reset the cache daily",
        "--tag",
        "cache",
        "--json",
        home=home,
    )
    assert note.returncode == 0, note.stderr
    line = {
        "type": "deploy.release.finished",
        "subject": PLANTED_IMG,
        "data": {"title": PLANTED, "version": "1.2"},
    }
    ingested = vigil("ingest", "-", home=home, stdin=json.dumps(line) + "\n")
    assert ingested.returncode == 0, ingested.stderr
    requests = events(home, "--type", "notification.requested")
    request = next(r for r in requests if r["data"]["title"].startswith("Deploy"))
    wav = home / "notifications" / f"{request['id']}.wav"
    wav.parent.mkdir(parents=True, exist_ok=True)
    said = vigil("say", "the build failed", "--wav", str(wav), "--no-play", home=home)
    assert said.returncode == 0, said.stderr
    triages = events(home, "--type", "triage.completed")
    return {
        "triage": triages[-1]["id"],
        "failure": triages[-1]["causation_id"],
        "fix": triages[-1]["data"]["known_fixes"][0]["id"],
        "note": json.loads(note.stdout)["id"],
        "proposal": proposed.stdout.strip(),
        "request": request["id"],
    }
