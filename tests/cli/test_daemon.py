"""``vigil up``: health, handling events from other processes, replay after downtime,
exactly-once triage beside ``vigil run``, and staged shutdown."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.cli.helpers import daemon, events, get_json, vigil, wait_for

FAILED = {
    "type": "build.run.failed",
    "subject": "pytest -q",
    "data": {
        "command": "pytest -q",
        "cwd": "/tmp",
        "exit_code": 1,
        "duration_ms": 12.5,
        "output_tail": "E   AssertionError: assert 1 == 2\nFAILED tests/test_x.py::test_y - "
        "AssertionError: assert 1 == 2\n",
    },
}


def _triaged(home: Path, cause: str) -> list[dict[str, object]]:
    return [e for e in events(home, "--type", "triage.completed") if e["causation_id"] == cause]


def test_health_and_status(home: Path) -> None:
    """The daemon serves /healthz and /readyz on 127.0.0.1 and status sees it running."""
    with daemon(home) as state:
        code, body = get_json(state["port"], "/healthz")
        assert code == 200 and body["status"] == "ok"
        code, body = get_json(state["port"], "/readyz")
        assert code == 200 and body["ready"] is True
        status = json.loads(vigil("status", "--json", home=home).stdout)
        assert status["daemon"]["running"] is True
        assert status["daemon"]["port"] == state["port"]


def test_ingested_failure_is_triaged_by_the_daemon(home: Path) -> None:
    """A failure ingested by another process is triaged by the running daemon at once."""
    with daemon(home):
        done = vigil("ingest", "-", "--json", home=home, stdin=json.dumps(FAILED) + "\n")
        (event_id,) = json.loads(done.stdout)["ids"]
        triaged = wait_for(lambda: _triaged(home, event_id), timeout=10)
        assert triaged[0]["data"]["failures"]


def test_failures_stored_while_down_are_handled_at_start(home: Path) -> None:
    """Events ingested with the daemon down are handled, once each, when it next starts."""
    lines = "".join(json.dumps(FAILED) + "\n" for _ in range(5))
    ids = json.loads(vigil("ingest", "-", "--json", home=home, stdin=lines).stdout)["ids"]
    with daemon(home):
        wait_for(lambda: all(_triaged(home, i) for i in ids), timeout=15)
    with daemon(home):
        pass  # a restart must not triage anything twice
    causes = [e["causation_id"] for e in events(home, "--type", "triage.completed")]
    assert sorted(causes) == sorted(ids)


def test_run_beside_daemon_triages_exactly_once(home: Path, tmp_path: Path) -> None:
    """With the daemon up, ``vigil run`` diagnoses inline and the daemon does not repeat it
    (it never even runs its triage handler on that failure)."""
    import urllib.request

    with daemon(home) as state:
        done = vigil("run", "--", "sh", "-c", "echo 'error: boom'; exit 2", home=home, cwd=tmp_path)
        assert done.returncode == 2
        failed = events(home, "--type", "build.run.failed")[0]
        # a later event proves the daemon has moved past the failure
        later = vigil("ingest", "--json", "-", home=home, stdin=json.dumps(FAILED) + "\n")
        (later_id,) = json.loads(later.stdout)["ids"]
        wait_for(lambda: _triaged(home, later_id), timeout=10)
        assert len(_triaged(home, failed["id"])) == 1
        with urllib.request.urlopen(f"http://127.0.0.1:{state['port']}/metrics") as response:
            text = response.read().decode()
        assert 'vigil_handler_seconds_count{consumer="triage"} 1.0' in text


def test_sigterm_stops_in_stages(home: Path) -> None:
    """SIGTERM stops the daemon cleanly: exit 0, state file removed, stop recorded."""
    with daemon(home) as state:
        proc = state["proc"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert not (home / "run" / "daemon.json").exists()
    types = [e["type"] for e in events(home, "--type", "daemon.*")]
    assert types == ["daemon.process.started", "daemon.process.stopped"]


def test_second_daemon_on_the_same_home_is_refused(home: Path) -> None:
    """A second ``vigil up`` on the same home exits non-zero with one clear line."""
    with daemon(home):
        done = vigil("up", "--port", "0", home=home, timeout=30)
        assert done.returncode != 0
        assert "already running" in done.stderr
        assert "Traceback" not in done.stderr


def test_busy_port_is_one_clear_line(home: Path, tmp_path: Path) -> None:
    """A port already in use stops ``vigil up`` with one line naming the port, no traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = vigil("up", "--port", str(port), home=home, timeout=30)
    assert done.returncode != 0
    assert f"cannot listen on http://127.0.0.1:{port}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_non_loopback_host_is_refused(home: Path) -> None:
    """The daemon refuses to listen anywhere but loopback."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "VIGIL_HOME": str(home), "VIGIL_HOST": "0.0.0.0"}
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "up"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0 and "loopback" in done.stderr


def test_concurrent_publishers_each_failure_triaged_exactly_once(home: Path) -> None:
    """Four processes ingesting failures at once while the daemon runs: every failure gets
    exactly one triage, none lost, none doubled."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "VIGIL_HOME": str(home)}
    batch = "".join(json.dumps(FAILED) + "\n" for _ in range(50))
    with daemon(home):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "vigil", "ingest", "-", "--json"],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        ids: list[str] = []
        for proc in procs:
            out, _ = proc.communicate(batch, timeout=60)
            assert proc.returncode == 0
            ids += json.loads(out)["ids"]

        def all_triaged() -> bool:
            causes = [e["causation_id"] for e in events(home, "--type", "triage.completed")]
            return len(causes) >= len(ids)

        wait_for(all_triaged, timeout=60)
    causes = [e["causation_id"] for e in events(home, "--type", "triage.completed")]
    assert sorted(causes) == sorted(ids)
