"""``vigil health``, ``/readyz`` details, systemd notifications and the unit file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.helpers import daemon, get_json, vigil, wait_for
from vigil.app.components import WatchdogComponent
from vigil.app.systemd import Notifier
from vigil.reliability.supervisor import Beat
from vigil.testing import FakeClock


def test_health_lists_components_with_beats(home: Path) -> None:
    """With the daemon up, ``vigil health --json`` lists every component as running with its
    last heartbeat and restart count, and exits 0."""
    with daemon(home):
        done = vigil("health", "--json", home=home)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
    names = {c["name"]: c for c in report["components"]}
    assert {"consumer.triage", "consumer.learner", "bus.tail", "http", "storage"} <= set(names)
    assert all(c["status"] == "running" for c in names.values())
    assert all(c["restarts"] == 0 for c in names.values())
    assert names["consumer.triage"]["last_beat"]
    assert report["ready"] is True and report["breakers"] == []


def test_health_without_daemon_exits_non_zero(home: Path) -> None:
    """With the daemon down, ``vigil health`` says so and exits 1."""
    done = vigil("health", home=home)
    assert done.returncode == 1 and "down" in done.stdout


def test_readyz_reports_reasons(home: Path) -> None:
    """``/readyz`` carries a status, the storage state and an empty reason list when ready."""
    with daemon(home) as state:
        code, body = get_json(state["port"], "/readyz")
    assert code == 200
    assert body["status"] == "ready" and body["reasons"] == [] and body["storage"]["ok"]


def test_sd_notify_ready_watchdog_and_stopping(home: Path, tmp_path: Path) -> None:
    """Under systemd the daemon sends READY=1, then WATCHDOG=1 at half the interval, then
    STOPPING=1, on a real unix datagram socket."""
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(20)
        env = {
            **os.environ,
            "VIGIL_HOME": str(home),
            "NOTIFY_SOCKET": path,
            "WATCHDOG_USEC": "400000",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", "up", "--port", "0"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        messages: list[str] = []
        try:
            deadline = time.monotonic() + 20
            while messages.count("WATCHDOG=1") < 3 and time.monotonic() < deadline:
                messages.append(sock.recv(4096).decode())
            proc.send_signal(signal.SIGTERM)
            while "STOPPING=1" not in messages and time.monotonic() < deadline:
                messages.append(sock.recv(4096).decode())
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    ready = next(i for i, m in enumerate(messages) if m.startswith("READY=1"))
    first_watchdog = messages.index("WATCHDOG=1")
    assert ready < messages.index("STOPPING=1")
    assert messages.count("WATCHDOG=1") >= 3 and first_watchdog >= 0


async def test_watchdog_is_withheld_while_a_component_is_stuck(tmp_path: Path) -> None:
    """The watchdog pets systemd only while no component has missed its heartbeats."""
    path = str(tmp_path / "n.sock")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(path)
    receiver.setblocking(False)
    stuck: list[str] = []
    component = WatchdogComponent(Notifier(path).notify, 0.01, lambda: list(stuck))
    task = asyncio.create_task(component(Beat(FakeClock())))
    try:
        await asyncio.sleep(0.05)
        healthy = _drain(receiver)
        stuck.append("consumer.triage")
        await asyncio.sleep(0.02)
        _drain(receiver)
        await asyncio.sleep(0.05)
        while_stuck = _drain(receiver)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        receiver.close()
    assert "WATCHDOG=1" in healthy
    assert "WATCHDOG=1" not in while_stuck and any("stuck" in m for m in while_stuck)
    assert component.withheld > 0


def _drain(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_service_unit_print_and_install(home: Path, tmp_path: Path) -> None:
    """``vigil service install --user --print`` prints a notify unit with Restart=always,
    RestartSec=10 and WatchdogSec; without --print it writes the user unit."""
    done = vigil("service", "install", "--user", "--print", home=home)
    unit = done.stdout
    for line in (
        "Type=notify",
        "Restart=always",
        "RestartSec=10",
        "WatchdogSec=",
        f"Environment=VIGIL_HOME={home}",
        "WantedBy=default.target",
    ):
        assert line in unit
    assert " up" in next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    fake_home = tmp_path / "user-home"
    env = {**os.environ, "VIGIL_HOME": str(home), "HOME": str(fake_home)}
    installed = subprocess.run(
        [sys.executable, "-m", "vigil", "service", "install", "--user"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    unit_file = fake_home / ".config" / "systemd" / "user" / "vigil.service"
    assert unit_file.read_text() == unit
    assert "daemon-reload" in installed.stdout


def test_daemon_json_is_removed_after_stop(home: Path) -> None:
    """The daemon's state file exists while it runs and is gone after it stops."""
    with daemon(home):
        assert (home / "run" / "daemon.json").exists()
    wait_for(lambda: not (home / "run" / "daemon.json").exists(), timeout=5)


def test_metrics_endpoint_and_stats_survive_restart(home: Path) -> None:
    """Handler latencies show in /metrics while the daemon runs, and in ``vigil stats``
    after it stopped (they are flushed to the database at shutdown)."""
    import urllib.request

    failure = json.dumps(
        {
            "type": "build.run.failed",
            "subject": "make",
            "data": {"command": "make", "exit_code": 2, "output_tail": "error: broke\n"},
        }
    )
    with daemon(home) as state:
        ids = json.loads(vigil("ingest", "-", "--json", home=home, stdin=failure + "\n").stdout)
        wait_for(
            lambda: any(
                e["causation_id"] == ids["ids"][0]
                for e in json.loads(
                    vigil("events", "--json", "--type", "triage.completed", home=home).stdout
                )
            )
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{state['port']}/metrics") as response:
            text = response.read().decode()
    assert 'vigil_handler_seconds_bucket{consumer="triage"' in text
    stats = json.loads(vigil("stats", "--json", home=home).stdout)
    names = {(m["name"], tuple(sorted(m["labels"].items()))) for m in stats["metrics"]}
    assert ("handler_seconds", (("consumer", "triage"),)) in names
