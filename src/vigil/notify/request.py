"""A notification request as the gates see it: validated once, immutable.

Any part of Vigil asks with ``notification.requested`` (data: ``title``, ``body``, ``severity``,
``fingerprint``?, ``subject``?, ``links``?, and ``signals``?: facts for the gates such as
``novel``, ``branch``, ``resolvable``). A request that cannot be read (no title, an unknown
severity) is not dropped: :func:`parse_request` raises, and the notifier records the rejection
as a decision, so the inbox still shows it.

Severity sets the *interruption level* (iOS's passive / active / time-sensitive / critical):
the level decides which channels a notice may reach; quiet hours lower it one step, and
``critical`` breaks through.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil.clock import parse_iso
from vigil.errors import ValidationError
from vigil.events.model import Event

SEVERITIES = ("info", "warning", "error", "critical")
LEVELS = ("passive", "active", "time-sensitive", "critical")
PASSIVE, ACTIVE, TIME_SENSITIVE, CRITICAL = range(4)
# The channels each level may reach, from the least to the most interrupting.
CHANNELS_BY_LEVEL: tuple[tuple[str, ...], ...] = (
    ("dashboard", "terminal"),
    ("dashboard", "terminal", "desktop"),
    ("dashboard", "terminal", "desktop", "webhook"),
    ("dashboard", "terminal", "desktop", "webhook", "spoken"),
)
INTERRUPTING = ("desktop", "webhook", "spoken")  # terminal and dashboard wait to be looked at
CHANNEL_ORDER = ("dashboard", "terminal", "desktop", "webhook", "spoken")
# Sources whose requests a person made themselves (`vigil notify`): always delivered.
PERSON_SOURCES = frozenset({"vigil.cli"})
MAX_TITLE = 300
MAX_BODY = 4000


@dataclass(frozen=True, slots=True)
class Request:
    """One ``notification.requested`` event, read."""

    id: str
    time: datetime
    title: str
    severity: str
    key: str  # the dedup key: the fingerprint, or one derived from the title
    body: str = ""
    subject: str | None = None
    links: tuple[Any, ...] = ()
    source: str = ""
    signals: Mapping[str, Any] = field(default_factory=dict)
    event: Event | None = field(default=None, compare=False)

    @property
    def level(self) -> int:
        return SEVERITIES.index(self.severity)

    @property
    def own(self) -> bool:
        """A person asked for it (``vigil notify``)."""
        return self.source in PERSON_SOURCES or bool(self.signals.get("asked"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "severity": self.severity,
            "fingerprint": self.key,
            "subject": self.subject,
            "links": list(self.links),
        }


def title_key(title: str) -> str:
    """A dedup key for a request without a fingerprint: its title, case and spacing ignored."""
    normal = " ".join(title.lower().split())
    return "title:" + hashlib.sha1(normal.encode()).hexdigest()[:16]


def check_payload(data: Mapping[str, Any]) -> None:
    """Raise :class:`ValidationError` (one line: why) when ``data`` is not a valid request."""
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValidationError("a notification request needs a non-empty title")
    severity = data.get("severity", "info")
    if severity not in SEVERITIES:
        raise ValidationError(f"unknown severity {severity!r} (use {', '.join(SEVERITIES)})")
    for key in ("body", "fingerprint", "subject"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValidationError(f"{key!r} must be a string")
    if data.get("links") is not None and not isinstance(data["links"], list):
        raise ValidationError("'links' must be a list")
    if data.get("signals") is not None and not isinstance(data["signals"], dict):
        raise ValidationError("'signals' must be an object")


def parse_request(event: Event) -> Request:
    """The request in ``event``; :class:`ValidationError` when it is malformed."""
    data = event.data
    check_payload(data)
    title = " ".join(str(data["title"]).split())[:MAX_TITLE]
    fingerprint = data.get("fingerprint") or event.fingerprint
    return Request(
        id=event.id,
        time=parse_iso(event.time),
        title=title,
        severity=str(data.get("severity", "info")),
        key=str(fingerprint) if fingerprint else title_key(title),
        body=str(data.get("body") or "")[:MAX_BODY],
        subject=data.get("subject") or event.subject,
        links=tuple(data.get("links") or ()),
        source=event.source,
        signals=dict(data.get("signals") or {}),
        event=event,
    )
