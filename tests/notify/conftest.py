"""Builders for attention tests: requests and events at chosen times, on the event clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.clock import isoformat
from vigil.events.model import Event
from vigil.storage.ids import new_ulid

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)  # a Monday, 10:00 UTC


def at(minutes: float = 0.0, *, seconds: float = 0.0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def event(
    kind: str,
    data: dict[str, Any] | None = None,
    *,
    when: datetime = T0,
    source: str = "vigil.ingest",
    subject: str | None = None,
    fingerprint: str | None = None,
    causation_id: str | None = None,
) -> Event:
    return Event(
        type=kind,
        data=data or {},
        id="ev_" + new_ulid(int(when.timestamp() * 1000)),
        time=isoformat(when),
        source=source,
        subject=subject,
        fingerprint=fingerprint,
        causation_id=causation_id,
    )


def request(
    title: str = "Something broke",
    severity: str = "error",
    *,
    when: datetime = T0,
    source: str = "vigil.raiser",
    **data: Any,
) -> Event:
    return event(
        "notification.requested",
        {"title": title, "severity": severity, **data},
        when=when,
        source=source,
    )
