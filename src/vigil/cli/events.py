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
from vigil.errors import InputError, UsageError, ValidationError, VigilError
from vigil.events.catalog import validate_known
from vigil.events.model import Event, check_type, new_event

FOLLOW_INTERVAL_S = 0.1
_INGEST_KEYS = {
    "type",
    "data",
    "source",
    "subject",
    "fingerprint",
    "correlation_id",
    "causation_id",
}


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


def parse_ingest(text: str, name: str) -> list[dict[str, Any]]:
    """Validate every line first; the first bad one rejects the whole input."""
    records: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{name}: line {number}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{where}: malformed JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ValidationError(f"{where}: expected a JSON object")
        unknown = sorted(set(record) - _INGEST_KEYS)
        if unknown:
            raise ValidationError(f"{where}: unknown field {unknown[0]!r}")
        if "type" not in record:
            raise ValidationError(f"{where}: missing field 'type'")
        data = record.get("data", {})
        if not isinstance(data, dict):
            raise ValidationError(f"{where}: 'data' must be a JSON object")
        for key in ("source", "subject", "fingerprint", "correlation_id", "causation_id"):
            if record.get(key) is not None and not isinstance(record[key], str):
                raise ValidationError(f"{where}: {key!r} must be a string")
        try:
            check_type(record["type"])
            validate_known(record["type"], data)
        except VigilError as exc:
            raise ValidationError(f"{where}: {exc}") from None
        records.append(record)
    return records


def cmd_ingest(args: argparse.Namespace) -> int:
    name = "stdin" if args.file == "-" else args.file
    records = parse_ingest(read_input(args.file), name)
    with open_vigil() as vigil:
        events = [
            new_event(
                r["type"],
                r.get("data", {}),
                clock=vigil.clock,
                source=r.get("source") or "vigil.ingest",
                subject=r.get("subject"),
                fingerprint=r.get("fingerprint"),
                correlation_id=r.get("correlation_id"),
            )
            for r in records
        ]
        events = [
            e if r.get("causation_id") is None else _with_cause(e, r["causation_id"])
            for e, r in zip(events, records, strict=True)
        ]
        stored = vigil.publish(events)
    if args.json:
        print(json.dumps({"ingested": len(stored), "ids": [e.id for e in stored]}))
    else:
        print(f"ingested {len(stored)} event{'s' if len(stored) != 1 else ''}")
    return 0


def _with_cause(event: Event, cause: str) -> Event:
    from dataclasses import replace

    return replace(event, causation_id=cause)


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
