"""``vigil health`` and ``vigil service install``."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from vigil.cli.context import daemon_state, settings
from vigil.errors import DaemonError, InputError
from vigil.events.doorbell import is_listening


def _fetch(port: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            report: dict[str, Any] = json.loads(response.read())
            return report
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise DaemonError(f"the daemon did not answer on {url}: {exc}") from None


def _breakers(config: Any) -> list[dict[str, Any]]:
    from vigil.app import Vigil

    with Vigil.open(config) as vigil:
        return vigil.breaker_snapshot()


def collect() -> dict[str, Any]:
    config = settings()
    report: dict[str, Any]
    port = (daemon_state(config) or {}).get("port")
    running = is_listening(config.home)
    if running and port is None:
        port = config.port  # a daemon on a read-only disk could not write its state file
    if running and port is not None:
        report = _fetch(port)
    else:
        report = {
            "daemon": {"running": False},
            "ready": False,
            "status": "down",
            "reasons": ["the daemon is not running (start it with: vigil up)"],
            "storage": None,
            "components": [],
            "probes": [],
        }
    report["breakers"] = _breakers(config)
    return report


def cmd_health(args: argparse.Namespace) -> int:
    report = collect()
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0 if report["ready"] else 1
    daemon = report["daemon"]
    state = report["status"]
    if daemon.get("running"):
        print(
            f"daemon      {state}, pid {daemon.get('pid')}, port {daemon.get('port')}, "
            f"up {daemon.get('uptime_s', 0):.0f}s"
        )
        for reason in report["reasons"]:
            print(f"  ! {reason}")
    else:
        print("daemon      down (start it with: vigil up)")
    for component in report["components"]:
        beat = (component.get("last_beat") or "-")[:19].replace("T", " ")
        print(
            f"component   {component['name']:<18} {component['status']:<9} "
            f"restarts {component['restarts']:<3} last beat {beat}"
        )
    for breaker in report["breakers"]:
        print(f"breaker     {breaker['name']:<18} {breaker['state']}")
    for probe in report.get("probes", []):
        error = f"  ({probe['last_error']})" if probe.get("last_error") else ""
        print(f"probe       {probe['name']:<18} {probe['status']:<9} {probe['target']}{error}")
    return 0 if report["ready"] else 1


def cmd_service_install(args: argparse.Namespace) -> int:
    from vigil.app.systemd import unit_path, unit_text, vigil_command

    config = settings(port=args.port)  # checks the port's range
    text = unit_text(
        command=vigil_command(), home=config.home.absolute(), user=args.user, port=args.port
    )
    if args.print:
        sys.stdout.write(text)
        return 0
    path = unit_path(user=args.user, home_dir=Path.home())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    scope = "--user " if args.user else ""
    print(f"wrote {path}")
    print(f"next: systemctl {scope}daemon-reload && systemctl {scope}enable --now vigil")
    return 0
