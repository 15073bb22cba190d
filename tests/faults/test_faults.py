"""Fault tests: the daemon killed, flooded, starved of disk; nothing lost, nothing doubled.

Bounded in time, loopback only, real processes and real files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.cli.helpers import daemon, get_json, vigil, wait_for
from tests.conftest import RULES_ONLY

REPO = Path(__file__).resolve().parents[2]


def _streamer(home: Path, count: int, batch: int, pause: float = 0.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.faults.streamer",
            str(home),
            str(count),
            str(batch),
            str(pause),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _triage_causes(home: Path) -> list[str]:
    with closing(sqlite3.connect(home / "vigil.db")) as conn:
        rows = conn.execute(
            "SELECT causation_id FROM events WHERE type = 'triage.completed'"
        ).fetchall()
    return [r[0] for r in rows]


def _failures(home: Path) -> list[str]:
    with closing(sqlite3.connect(home / "vigil.db")) as conn:
        rows = conn.execute("SELECT id FROM events WHERE type = 'build.run.failed'").fetchall()
    return [r[0] for r in rows]


def _integrity(home: Path) -> str:
    with closing(sqlite3.connect(home / "vigil.db")) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _start(home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "VIGIL_HOME": str(home), "VIGIL_STORAGE_PROBE_S": "0.2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", "up", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    state = home / "run" / "daemon.json"
    wait_for(
        lambda: (
            proc.poll() is None
            and state.exists()
            and json.loads(state.read_text()).get("pid") == proc.pid
        ),
        timeout=20,
    )
    return proc


def _stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    if proc.stderr:
        proc.stderr.close()
    return code


@pytest.mark.slow
def test_kill_9_while_streaming_loses_and_doubles_nothing(home: Path) -> None:
    """kill -9 of the daemon while another process streams 2,000 failures: after a restart
    every failure has exactly one triage.completed."""
    home.mkdir(parents=True, exist_ok=True)
    proc = _start(home)
    streamer = _streamer(home, 2000, 10, 0.002)
    assert streamer.stdout is not None
    wait_for(lambda: len(_triage_causes(home)) > 100, timeout=30)
    proc.kill()  # SIGKILL, mid-stream
    proc.wait(timeout=10)
    if proc.stderr:
        proc.stderr.close()
    ids = [i for line in streamer.stdout for i in json.loads(line)]
    assert streamer.wait(timeout=60) == 0
    streamer.stdout.close()
    if streamer.stderr:
        streamer.stderr.close()
    assert len(ids) == 2000
    proc = _start(home)
    try:
        wait_for(lambda: len(_triage_causes(home)) >= 2000, timeout=120)
        time.sleep(0.3)
    finally:
        assert _stop(proc) == 0
    causes = _triage_causes(home)
    assert sorted(causes) == sorted(ids)
    assert _integrity(home) == "ok"


@pytest.mark.slow
def test_sigterm_under_load_drains_and_stops_in_time(home: Path) -> None:
    """SIGTERM while failures pour in stops the daemon within its staged timeouts, and the next
    start finishes the work, each failure triaged exactly once."""
    home.mkdir(parents=True, exist_ok=True)
    proc = _start(home)
    streamer = _streamer(home, 1500, 50)
    wait_for(lambda: len(_triage_causes(home)) > 50, timeout=30)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    stopped_in = time.monotonic() - started
    if proc.stderr:
        proc.stderr.close()
    streamer.communicate(timeout=60)
    assert stopped_in < 16  # three stages of at most 5 s each
    proc = _start(home)
    try:
        wait_for(lambda: len(_triage_causes(home)) >= 1500, timeout=120)
    finally:
        _stop(proc)
    assert sorted(_triage_causes(home)) == sorted(_failures(home))


def _mount_tmpfs(target: Path, size: str) -> bool:
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True
    )
    return done.returncode == 0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        return get_json(port, "/healthz")[0] == 200
    except OSError:
        return False


def _degraded(port: int) -> bool:
    code, body = get_json(port, "/readyz")
    return code == 503 and any("storage" in r for r in body["reasons"])


def _empty_wal(home: Path) -> None:
    """Checkpoint the WAL and truncate it, so the next write needs new disk space: a WAL that
    already grew past its checkpoint is reused in place and would take writes on a full disk."""
    conn = sqlite3.connect(home / "vigil.db", timeout=10)
    try:
        for _ in range(200):
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            time.sleep(0.05)
    finally:
        conn.close()


def _fill(directory: Path) -> Path:
    filler = directory / "filler.bin"
    chunk = b"\0" * (1024 * 1024)
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
    return filler


@pytest.mark.slow
def test_full_then_read_only_disk_degrades_and_recovers(tmp_path: Path) -> None:
    """On a full, then read-only filesystem the daemon stays up, says so in /readyz, refuses new
    events with one clear line, loses nothing stored, and recovers once the disk is usable."""
    mnt = tmp_path / "mnt"
    if not _mount_tmpfs(mnt, "16m"):
        pytest.skip("needs root to mount a small tmpfs")
    home = mnt / "home"
    home.mkdir()
    (home / "config.toml").write_text(RULES_ONLY)
    try:
        lines = "".join(
            json.dumps(
                {
                    "type": "build.run.failed",
                    "subject": "make",
                    "data": {
                        "command": "make",
                        "exit_code": 2,
                        "output_tail": f"error: thing {i} broke\n",
                    },
                }
            )
            + "\n"
            for i in range(20)
        )
        with daemon(home, extra=()) as state:
            port = state["port"]
            assert vigil("ingest", "-", home=home, stdin=lines).returncode == 0
            wait_for(lambda: len(_triage_causes(home)) == 20, timeout=20)
            stored = len(_failures(home))

            _empty_wal(home)
            filler = _fill(mnt)
            refused = vigil("ingest", "-", home=home, stdin=lines)
            assert refused.returncode != 0
            assert len(refused.stderr.strip().splitlines()) == 1
            assert "full" in refused.stderr

            wait_for(lambda: _degraded(port), timeout=30)
            assert get_json(port, "/healthz")[0] == 200

            filler.unlink()
            wait_for(lambda: get_json(port, "/readyz")[0] == 200, timeout=30)
            assert vigil("ingest", "-", home=home, stdin=lines).returncode == 0
            wait_for(lambda: len(_triage_causes(home)) == 40, timeout=20)

        # Read-only: a filesystem busy with open files cannot be remounted, so the daemon
        # stops, the disk goes read-only under it, and it must come up degraded, not crash.
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        try:
            port = _free_port()
            env = {
                **os.environ,
                "VIGIL_HOME": str(home),
                "VIGIL_STORAGE_PROBE_S": "0.2",
                "VIGIL_PORT": str(port),
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", "vigil", "up"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_for(lambda: _answers(port) and _degraded(port), timeout=30)
                assert get_json(port, "/healthz")[0] == 200
                readonly = vigil("ingest", "-", home=home, stdin=lines)
                assert readonly.returncode != 0 and "read-only" in readonly.stderr
                assert len(readonly.stderr.strip().splitlines()) == 1
                read = vigil(
                    "events", "--json", "--type", "build.run.failed", "--limit", "1000", home=home
                )
                assert len(json.loads(read.stdout)) == stored + 20  # reads still work
                health = subprocess.run(
                    [sys.executable, "-m", "vigil", "health", "--json"],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                assert json.loads(health.stdout)["status"] == "degraded"
            finally:
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=30) == 0
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(mnt)], check=True)
        with daemon(home) as state:
            wait_for(lambda: get_json(state["port"], "/readyz")[0] == 200, timeout=30)
        assert len(_failures(home)) == stored + 20
        assert _integrity(home) == "ok"
        assert sorted(_triage_causes(home)) == sorted(_failures(home))
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
