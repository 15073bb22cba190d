"""Channels: where a delivered notice goes. One module each, all behind the same guard.

    terminal   a line shown on the next `vigil` command (and at the end of `vigil run`)
    dashboard  a live in-process stream the HTTP API and the dashboard subscribe to
    desktop    notify-send, when a session bus exists (skipped cleanly when not)
    webhook    ntfy or Slack-compatible JSON over HTTP
    spoken     a WAV from the speech synthesiser, kept for the dashboard, played when a player
               and a sound device exist

The first two never interrupt; the last three do. Every channel implements :class:`Channel`;
:mod:`vigil.notify.channels.delivery` calls it through a circuit breaker, a retry on
:class:`~vigil.errors.ChannelFailed` and a timeout, and records what failed. This package's
``__init__`` imports nothing heavy: the CLI reads terminal notices on every command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Notice:
    """What a channel gets: a delivered request, ready to show."""

    request_id: str
    decision_id: str
    time: str
    title: str
    body: str
    severity: str
    level: str
    reason: str
    score: float
    links: tuple[Any, ...] = ()
    channels: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "decision_id": self.decision_id,
            "time": self.time,
            "title": self.title,
            "body": self.body,
            "severity": self.severity,
            "level": self.level,
            "reason": self.reason,
            "score": self.score,
            "links": list(self.links),
            "channels": list(self.channels),
            **self.extra,
        }


class Channel(Protocol):
    """One way of telling a person."""

    name: str

    def unavailable(self) -> str | None:
        """Why this channel cannot work here now (``None``: it can)."""
        ...

    async def send(self, notice: Notice) -> dict[str, Any] | None:
        """Deliver, or raise a :class:`~vigil.errors.ChannelError`; may return facts (a WAV)."""
        ...
