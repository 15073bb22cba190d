"""``vigil events``, ``vigil ingest`` and ``vigil dead-letters``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from vigil.cli.context import open_vigil
from vigil.clock import SystemClock, isoformat, parse_since
from vigil.errors import InputError, UsageError
from vigil.events.model import Event

FOLLOW_INTERVAL_S = 0.1


def _line(event: Event) -> str:
    subject = f" [{event.subject}]" if event.subject else ""
    detail = ""
    data = event.data
    if "exit_code" in data:
        detail = f" exit={data['exit_code']}"
    if "summary" in data:
        detail = f" {data['summary']}"
    elif "title" in data:
        detail = f" {data['title']}"
    if len(detail) > 120:
        detail = detail[:117] + "..."
    return f"{event.time[:19].replace('T', ' ')}  {event.id}  {event.type}{subject}{detail}"


def cmd_events(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must not be negative")
    since = isoformat(parse_since(args.since, SystemClock().now())) if args.since else None
    with open_vigil() as vigil:
        if args.event_id:
            event = vigil.log.get(args.event_id)
            print(json.dumps(event.to_dict(), indent=2, ensure_ascii=False))
            return 0
        patterns = tuple(args.type)
        if any(not p.strip() for p in patterns):
            raise UsageError("--type needs a pattern such as 'build.*'")
        events = vigil.log.find(patterns=patterns, since=since, limit=args.limit)
        events.reverse()
        if args.json and not args.follow:
            json.dump([e.to_dict() for e in events], sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
            return 0
        for event in events:
            _emit(event, args.json)
        if not args.follow:
            if not events and not args.json:
                print("no events", file=sys.stderr)
            return 0
        last = events[-1].seq if events else vigil.log.last_seq()
        for event in _follow(vigil.log, patterns, last or 0):
            _emit(event, args.json)
    return 0


def _emit(event: Event, as_json: bool) -> None:
    if as_json:
        print(json.dumps(event.to_dict(), ensure_ascii=False), flush=True)
    else:
        print(_line(event), flush=True)


def _follow(log: Any, patterns: tuple[str, ...], after: int) -> Iterator[Event]:
    """New events as they are stored (a cheap indexed read every 100 ms)."""
    while True:
        batch = log.read_after(after, patterns, 500)
        for event in batch:
            after = event.seq
            yield event
        if not batch:
            time.sleep(FOLLOW_INTERVAL_S)


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
