"""``vigil up`` and ``vigil status``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vigil import __version__
from vigil.app import CONSUMERS
from vigil.cli.context import daemon_state, open_vigil, settings
from vigil.events.doorbell import is_listening


def cmd_up(args: argparse.Namespace) -> int:
    from vigil.app.daemon import Daemon, serve

    config = settings(port=args.port, host=args.host, allow_remote=args.allow_remote)

    def ready(daemon: Daemon) -> None:
        print(
            f"vigil {__version__}: daemon for {config.home} on http://{config.host}:"
            f"{daemon.port} (Ctrl-C stops)"
            + ("; remote access on: every request needs a token" if config.allow_remote else ""),
            file=sys.stderr,
            flush=True,
        )

    serve(config, ready)
    print("vigil: daemon stopped", file=sys.stderr)
    return 0


def _size(path: Path) -> int:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            total += candidate.stat().st_size
    return total


def collect_status() -> dict[str, Any]:
    config = settings()
    running = is_listening(config.home)
    daemon = daemon_state(config) if running else None
    with open_vigil() as vigil:
        last = vigil.log.last_seq()
        offsets = vigil.log.offsets()
        newest = vigil.log.find(limit=1)
        dead = len(vigil.log.dead_letters(limit=1000))
        kb_row = vigil.db.query_one(
            "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='kb_entries'"
        )
        kb_count = None
        if kb_row and kb_row[0]:
            row = vigil.db.query_one("SELECT COUNT(*) FROM kb_entries")
            kb_count = int(row[0]) if row else 0
        consumers = {}
        for name, patterns in CONSUMERS:
            offset = offsets.get(name, 0)
            lag = vigil.log.backlog(name, patterns)
            consumers[name] = {"offset": offset, "pending": lag}
        return {
            "version": __version__,
            "home": str(config.home),
            "daemon": {"running": running, **(daemon or {})},
            "database": {"path": str(config.db_path), "bytes": _size(config.db_path)},
            "events": {
                "count": vigil.log.count(),
                "last_seq": last,
                "last": newest[0].to_dict() if newest else None,
            },
            "consumers": consumers,
            "dead_letters": dead,
            "knowledge_entries": kb_count,
        }


def cmd_status(args: argparse.Namespace) -> int:
    status = collect_status()
    if args.json:
        print(json.dumps(status, ensure_ascii=False))
        return 0
    daemon = status["daemon"]
    if daemon["running"]:
        where = f" pid {daemon.get('pid')} on http://127.0.0.1:{daemon.get('port')}"
        print(f"daemon      running{where}")
    else:
        print("daemon      not running (start it with: vigil up)")
    print(f"home        {status['home']}")
    print(f"database    {status['database']['bytes'] / 1024:.0f} KiB")
    last = status["events"]["last"]
    last_text = f", last {last['type']} at {last['time'][:19]}" if last else ""
    print(f"events      {status['events']['count']}{last_text}")
    for name, info in status["consumers"].items():
        print(f"consumer    {name:<10} offset {info['offset']}, {info['pending']} pending")
    print(f"dead letters {status['dead_letters']}")
    if status["knowledge_entries"] is not None:
        print(f"knowledge   {status['knowledge_entries']} entries")
    return 0
