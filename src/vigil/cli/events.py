"""``vigil events``, ``vigil ingest`` and ``vigil dead-letters``.

``vigil events`` is a read command that must start at the speed of Python: it reads rows through
:mod:`vigil.events.table` (no Event objects, no composition root) and imports nothing it does not
need; the writing commands below import what they use inside their functions.

``--follow`` prints each new event the moment it is stored: the command registers a bell of its
own (:class:`~vigil.events.doorbell.Follower`) before it reads, and every process that stores
events rings it, the daemon included. It does not poll; a read every :data:`FOLLOW_SAFETY_S`
seconds only backs up a writer that does not ring (an older Vigil, a hand-made insert).
"""

from __future__ import annotations

import json
import sys

from vigil.errors import InputError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator, Mapping
    from pathlib import Path
    from typing import Any

    from vigil.events.doorbell import Follower
    from vigil.storage import Database

FOLLOW_SAFETY_S = 5.0
FOLLOW_BATCH = 500


def _line(event: Mapping[str, Any]) -> str:
    subject = f" [{event['subject']}]" if event["subject"] else ""
    detail = ""
    data = event["data"]
    if "exit_code" in data:
        detail = f" exit={data['exit_code']}"
    if "summary" in data:
        detail = f" {data['summary']}"
    elif "title" in data:
        detail = f" {data['title']}"
    if len(detail) > 120:
        detail = detail[:117] + "..."
    when = event["time"][:19].replace("T", " ")
    return f"{when}  {event['id']}  {event['type']}{subject}{detail}"


def _since(text: str) -> str:
    from vigil.clock import SystemClock, isoformat, parse_since

    return isoformat(parse_since(text, SystemClock().now()))


def cmd_events(args: argparse.Namespace) -> int:
    from vigil.cli.context import settings
    from vigil.events import table
    from vigil.storage import Database

    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must not be negative")
    patterns = tuple(args.type)
    if any(not p.strip() for p in patterns):
        raise UsageError("--type needs a pattern such as 'build.*'")
    since = _since(args.since) if args.since else None
    config = settings()
    bell: Follower | _Rereading | None = None
    with Database(config.db_path) as db:
        table.ensure_schema(db)
        if args.event_id:
            event = table.event_dict(table.row_by_id(db, args.event_id))
            print(json.dumps(event, indent=2, ensure_ascii=False))
            return 0
        if args.follow:
            bell = _bell(config.home)  # before reading: nothing stored after it is missed
        try:
            start = table.last_seq(db)
            rows = table.find_rows(db, patterns=patterns, since=since, limit=args.limit)
            rows.reverse()
            events = [table.event_dict(row) for row in rows]
            if args.json and bell is None:
                json.dump(events, sys.stdout, ensure_ascii=False)
                sys.stdout.write("\n")
                return 0
            for event in events:
                _emit(event, args.json)
            if bell is None:
                if not events and not args.json:
                    print("no events", file=sys.stderr)
                return 0
            after = max(start, events[-1]["seq"] if events else 0)
            for event in follow(db, bell, patterns, after):
                _emit(event, args.json)
        finally:
            if bell is not None:
                bell.close()
    return 0


class _Rereading:
    """Where no bell can be registered (a home whose ``run/`` is not writable): a read every
    second instead."""

    def wait(self, timeout: float | None = None) -> bool:
        import time

        time.sleep(1.0)
        return False

    def close(self) -> None:
        pass


def _bell(home: Path) -> Follower | _Rereading:
    """A bell for ``--follow``; SIGTERM ends the command cleanly (its registration removed)."""
    import signal

    from vigil.events.doorbell import Follower

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        return Follower(home)
    except OSError as exc:
        print(
            f"vigil: warning: cannot register for new events under {home / 'run'} "
            f"({exc.strerror or exc}); re-reading every second",
            file=sys.stderr,
        )
        return _Rereading()


def _emit(event: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(event, ensure_ascii=False), flush=True)
    else:
        print(_line(event), flush=True)


def follow(
    db: Database,
    bell: Follower | _Rereading,
    patterns: tuple[str, ...],
    after: int,
    *,
    safety_s: float | None = FOLLOW_SAFETY_S,
) -> Iterator[dict[str, Any]]:
    """Events stored after position ``after``, as they are stored: one indexed read each time
    ``bell`` rings (or ``safety_s`` passes), forever."""
    from vigil.events import table

    while True:
        batch = table.rows_after(db, after, patterns, FOLLOW_BATCH)
        for row in batch:
            after = row[0]
            yield table.event_dict(row)
        if len(batch) < FOLLOW_BATCH:
            bell.wait(safety_s)


def read_input(path: str, *, lenient: bool = False) -> str:
    """A file's text, or stdin's for ``-``. ``lenient`` replaces bytes that are not UTF-8
    (build logs carry stray ones) instead of refusing the file."""
    errors = "replace" if lenient else "strict"
    try:
        if path == "-":
            return sys.stdin.buffer.read().decode("utf-8", errors)
        with open(path, encoding="utf-8", errors=errors) as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def cmd_ingest(args: argparse.Namespace) -> int:
    from vigil.cli.context import open_vigil
    from vigil.events.ingest import build_events, parse_lines

    name = "stdin" if args.file == "-" else args.file
    records = parse_lines(read_input(args.file), name)
    with open_vigil() as vigil:
        stored = vigil.publish(build_events(records, clock=vigil.clock, source="vigil.ingest"))
    if args.json:
        print(json.dumps({"ingested": len(stored), "ids": [e.id for e in stored]}))
    else:
        print(f"ingested {len(stored)} event{'s' if len(stored) != 1 else ''}")
    return 0


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from vigil.cli.context import open_vigil

    with open_vigil() as vigil:
        letters = vigil.log.dead_letters(limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": d.id,
                        "consumer": d.consumer,
                        "event_id": d.event_id,
                        "error": d.error,
                        "time": d.time,
                        "detail": d.detail,
                    }
                    for d in letters
                ]
            )
        )
        return 0
    if not letters:
        print("no dead letters")
    for d in letters:
        print(f"{d.time[:19].replace('T', ' ')}  {d.consumer:<12} {d.event_id}  {d.error}")
    return 0
