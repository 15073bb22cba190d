"""Events from outside: validation shared by ``vigil ingest`` and ``POST /api/events``.

An outside record is a JSON object ``{"type", "data"?, "source"?, "subject"?, "time"?,
"fingerprint"?, "correlation_id"?, "causation_id"?}``. ``time`` is ISO 8601 with ``Z`` or an
offset; the stored event keeps that moment (in UTC), and without it the event gets the clock's
now. Validation is all or nothing: :func:`parse_lines` and :func:`parse_records` check every
record first and raise :class:`~vigil.errors.ValidationError` on the first bad one, naming it, so
a caller stores either every event or none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from vigil.clock import Clock, isoformat
from vigil.errors import ValidationError, VigilError
from vigil.events.catalog import validate_known
from vigil.events.model import Event, check_type, new_event

KEYS = frozenset(
    {"type", "data", "source", "subject", "time", "fingerprint", "correlation_id", "causation_id"}
)
_STRINGS = ("source", "subject", "fingerprint", "correlation_id", "causation_id")
MAX_STRING = 1000
MAX_DEPTH = 32
# ISO 8601 with a date, a time and a zone (Z or an offset): a time without a zone is ambiguous.
_ZONED = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$"
)


def parse_time(value: object) -> datetime:
    """An event's ``time``: ISO 8601 with ``Z`` or an offset, as an aware UTC datetime."""
    if not isinstance(value, str) or not _ZONED.match(value.strip()):
        raise ValidationError(
            f"'time' must be ISO 8601 with Z or an offset (2026-01-02T03:04:05Z), got {value!r}"
        )
    text = value.strip().replace("z", "Z").replace("Z", "+00:00")
    fraction = re.search(r"\.(\d+)", text)
    if fraction and len(fraction.group(1)) > 6:  # Python takes microseconds at most
        text = text.replace(fraction.group(0), "." + fraction.group(1)[:6], 1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"'time' is not a valid date and time: {value!r}") from None
    return moment.astimezone(UTC)


def _depth_ok(value: object, limit: int) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` (walked without recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def check_record(record: object) -> dict[str, Any]:
    """One record, validated; raises :class:`ValidationError` with a one-line reason."""
    if not isinstance(record, dict):
        raise ValidationError("expected a JSON object")
    unknown = sorted(set(record) - KEYS)
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]!r}")
    if "type" not in record:
        raise ValidationError("missing field 'type'")
    data = record.get("data", {})
    if not isinstance(data, dict):
        raise ValidationError("'data' must be a JSON object")
    if not _depth_ok(data, MAX_DEPTH):
        raise ValidationError(f"'data' nests deeper than {MAX_DEPTH} levels")
    for key in _STRINGS:
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{key!r} must be a string")
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise ValidationError(f"{key!r} is longer than {MAX_STRING} characters")
    if record.get("time") is not None:
        parse_time(record["time"])
    check_type(record["type"])
    validate_known(record["type"], data)
    return record


def parse_lines(text: str, name: str) -> list[dict[str, Any]]:
    """JSON lines (blank lines skipped); the first bad line rejects the whole input."""
    records: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{name}: line {number}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{where}: malformed JSON ({exc.msg})") from None
        records.append(_checked(record, where))
    return records


def parse_records(body: object) -> list[dict[str, Any]]:
    """A request body: one record or a non-empty array of them; the first bad one rejects all."""
    if isinstance(body, dict):
        return [_checked(body, "event")]
    if not isinstance(body, list):
        raise ValidationError("expected an event object or an array of events")
    if not body:
        raise ValidationError("the array holds no event")
    return [_checked(record, f"event {index}") for index, record in enumerate(body)]


def _checked(record: object, where: str) -> dict[str, Any]:
    try:
        return check_record(record)
    except VigilError as exc:
        raise ValidationError(f"{where}: {exc}") from None


def build_events(records: Sequence[Mapping[str, Any]], *, clock: Clock, source: str) -> list[Event]:
    """Events from validated records; ``source`` when a record names none."""
    events = []
    for record in records:
        event = new_event(
            record["type"],
            record.get("data", {}),
            clock=clock,
            source=record.get("source") or source,
            subject=record.get("subject"),
            fingerprint=record.get("fingerprint"),
            correlation_id=record.get("correlation_id"),
        )
        if record.get("causation_id") is not None:
            event = replace(event, causation_id=record["causation_id"])
        if record.get("time") is not None:
            event = replace(event, time=isoformat(parse_time(record["time"])))
        events.append(event)
    return events
