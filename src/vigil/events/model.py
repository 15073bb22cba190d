"""The event: what every source publishes and every handler consumes.

Types are ``area.thing.past_tense`` (lowercase, dot-separated, at least two parts). An event is
immutable; ``seq`` is its position in the durable log once stored (``None`` before). Causation
links an effect to the event that caused it; correlation groups everything one original event led
to (the first event's id, inherited down the chain).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from vigil.clock import Clock, isoformat
from vigil.errors import ValidationError
from vigil.storage.ids import new_ulid

TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$")
MAX_TYPE_LENGTH = 200
MAX_DATA_BYTES = 4 * 1024 * 1024


def check_type(event_type: object) -> str:
    """Return ``event_type`` if it is a valid event type, else raise :class:`ValidationError`."""
    if not isinstance(event_type, str) or not event_type:
        raise ValidationError("event type must be a non-empty string")
    if len(event_type) > MAX_TYPE_LENGTH or not TYPE_PATTERN.match(event_type):
        raise ValidationError(
            f"invalid event type {event_type!r}: use lowercase dotted names like build.run.failed"
        )
    return event_type


@dataclass(frozen=True, slots=True)
class Event:
    """One immutable fact with its provenance."""

    type: str
    data: Mapping[str, Any]
    id: str
    time: str
    source: str
    subject: str | None = None
    fingerprint: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    seq: int | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape (``vigil events --json``)."""
        return {
            "id": self.id,
            "seq": self.seq,
            "type": self.type,
            "time": self.time,
            "source": self.source,
            "subject": self.subject,
            "data": dict(self.data),
            "fingerprint": self.fingerprint,
            "causation_id": self.causation_id,
            "correlation_id": self.correlation_id,
        }

    def data_json(self) -> str:
        return json.dumps(self.data, separators=(",", ":"), ensure_ascii=False, default=str)

    def with_seq(self, seq: int) -> Event:
        return replace(self, seq=seq)


def new_event(
    event_type: str,
    data: Mapping[str, Any],
    *,
    clock: Clock,
    source: str,
    subject: str | None = None,
    fingerprint: str | None = None,
    cause: Event | None = None,
    correlation_id: str | None = None,
) -> Event:
    """A fresh event stamped with a new id and the clock's time.

    With ``cause``, the event's causation id is the cause's id and it inherits the cause's
    correlation (or starts one at the cause).
    """
    check_type(event_type)
    moment = clock.now()
    event_id = "ev_" + new_ulid(int(moment.timestamp() * 1000))
    causation = None
    if cause is not None:
        causation = cause.id
        correlation_id = correlation_id or cause.correlation_id or cause.id
    return Event(
        type=event_type,
        data=dict(data),
        id=event_id,
        time=isoformat(moment),
        source=source,
        subject=subject,
        fingerprint=fingerprint,
        correlation_id=correlation_id,
        causation_id=causation,
    )


def matches(event_type: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``event_type`` matches any glob pattern (``*`` spans dots: ``build.*``)."""
    from fnmatch import fnmatchcase

    return any(fnmatchcase(event_type, pattern) for pattern in patterns)
