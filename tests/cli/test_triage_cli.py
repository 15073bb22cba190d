"""``vigil triage --log`` on real saved output, and what read-only commands import."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.helpers import vigil

OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "outputs"


def test_triage_json_has_the_contract_fields(home: Path) -> None:
    """``--json`` carries failures with tool/file/line/test/error_type/message, the fingerprint,
    known fixes, suspects and elapsed_ms."""
    done = vigil("triage", "--log", str(OUTPUTS / "mypy" / "arg_type.txt"), "--json", home=home)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for key in ("failures", "fingerprint", "known_fixes", "suspects", "elapsed_ms"):
        assert key in report
    failure = report["failures"][0]
    assert {"tool", "file", "line", "test", "error_type", "message"} <= set(failure)
    assert failure["tool"] == "mypy" and failure["file"] == "src/shop/cart.py"
    assert failure["error_type"] == "arg-type"


def test_triage_finds_a_fix_added_for_the_fingerprint(home: Path) -> None:
    """A knowledge entry linked to a failure's fingerprint is offered as its known fix."""
    log = str(OUTPUTS / "mypy" / "arg_type.txt")
    fingerprint = json.loads(vigil("triage", "--log", log, "--json", home=home).stdout)[
        "fingerprint"
    ]
    added = vigil(
        "kb",
        "add",
        "fix",
        "Pass a list of prices to total()",
        "--fingerprint",
        fingerprint,
        home=home,
    )
    assert added.returncode == 0, added.stderr
    moved = str(OUTPUTS / "mypy" / "arg_type.moved.txt")
    report = json.loads(vigil("triage", "--log", moved, "--json", home=home).stdout)
    assert report["fingerprint"] == fingerprint
    assert report["known_fixes"][0]["title"] == "Pass a list of prices to total()"
    assert report["known_fixes"][0]["match"] == "fingerprint"
    human = vigil("triage", "--log", moved, home=home).stdout
    assert "Pass a list of prices to total()" in human


def test_triage_reads_stdin(home: Path) -> None:
    """``--log -`` triages output piped on standard input."""
    text = (OUTPUTS / "mypy" / "arg_type.txt").read_text()
    done = vigil("triage", "--log", "-", "--json", home=home, stdin=text)
    assert json.loads(done.stdout)["failures"][0]["tool"] == "mypy"


def test_reading_commands_do_not_import_the_web_stack(home: Path) -> None:
    """``vigil events`` and ``vigil --version`` never import starlette or uvicorn."""
    probe = (
        "import sys\n"
        "from vigil.cli.main import main\n"
        "main(sys.argv[1:])\n"
        "print('WEB' if {'starlette', 'uvicorn'} & set(sys.modules) else 'LEAN')\n"
    )
    env = {**os.environ, "VIGIL_HOME": str(home)}
    for args in (["events", "--json"], ["status", "--json"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        assert done.stdout.strip().endswith("LEAN"), args


def test_follow_prints_events_from_another_process(home: Path) -> None:
    """``vigil events --follow --json`` prints an event another process stores after it starts."""
    env = {**os.environ, "VIGIL_HOME": str(home)}
    follower = subprocess.Popen(
        [sys.executable, "-m", "vigil", "events", "--follow", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        vigil("ingest", "-", home=home, stdin='{"type": "deploy.release.finished", "data": {}}\n')
        assert follower.stdout is not None
        ready, _, _ = select.select([follower.stdout], [], [], 15)
        assert ready, "the follower printed nothing"
        line = follower.stdout.readline()
        assert json.loads(line)["type"] == "deploy.release.finished"
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        for stream in (follower.stdout, follower.stderr):
            if stream:
                stream.close()
