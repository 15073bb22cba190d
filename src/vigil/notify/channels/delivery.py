"""Delivering a decision to its channels, each behind a breaker, a retry and a timeout.

For every channel a ``notification.delivered`` names: the call goes through the channel's
circuit breaker (``channel.<name>``, stored, so every Vigil process shares it; a call that runs
past the breaker's timeout is cancelled and counts as a failure), retried with jittered backoff
on :class:`~vigil.errors.ChannelFailed` only. A channel that still fails, is refused, or whose
breaker is open gets a ``notification.failed`` (data: ``request_id``, ``channel``, ``error``;
caused by the delivery): the request stays in the inbox with it. An unavailable channel (no
session bus) is skipped, not failed. Channels run side by side, so a slow one (speech) never
holds the terminal line back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil.clock import Clock, SystemClock
from vigil.errors import (
    ChannelError,
    ChannelFailed,
    ChannelRejected,
    ChannelUnavailable,
    CircuitOpen,
)
from vigil.events import catalog
from vigil.events.model import Event, new_event
from vigil.notify.channels import Channel, Notice
from vigil.reliability import BreakerPolicy, BreakerRegistry, RetryPolicy

log = logging.getLogger("vigil.notify")

SOURCE = "vigil.notifier"
CHANNEL_POLICY = BreakerPolicy(
    failures=3,
    counted=(ChannelFailed, ChannelRejected, TimeoutError),
    timeout=20.0,
    open_base=30.0,
    open_max=900.0,
)


@dataclass(slots=True)
class Report:
    """What became of one delivery, channel by channel."""

    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


def notice_for(decision: Event, request: Event | None) -> Notice:
    """The notice a delivered decision shows (body and links come from the request)."""
    data = decision.data
    asked = request.data if request is not None else {}
    title = str(data.get("title") or asked.get("title") or "")
    body = str(asked.get("body") or "")
    bundle = [str(t) for t in data.get("bundle") or ()]
    if bundle:  # released together (the end of a focus or a meeting): one notice for all
        title = f"{title} (and {len(bundle)} more held)"
        body = "\n".join([body, *(f"- {t}" for t in bundle)]).strip()
    return Notice(
        request_id=str(data.get("request_id")),
        decision_id=decision.id,
        time=decision.time,
        title=title,
        body=body,
        severity=str(data.get("severity") or asked.get("severity") or "info"),
        level=str(data.get("level") or "passive"),
        reason=str(data.get("reason") or ""),
        score=float(data.get("score") or 0.0),
        links=tuple(asked.get("links") or ()),
        channels=tuple(data.get("channels") or ()),
    )


class Deliverer:
    """Sends delivered decisions to the channels this process has."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        *,
        breakers: BreakerRegistry | None = None,
        clock: Clock | None = None,
        attempts: int = 3,
        deadline_s: float = 30.0,
    ) -> None:
        self.channels = dict(channels)
        self.breakers = breakers
        self.clock = clock or SystemClock()
        self.retry = RetryPolicy(
            on=(ChannelFailed, TimeoutError),
            attempts=attempts,
            deadline=deadline_s,
            base=0.5,
            cap=5.0,
            clock=self.clock,
        )

    def available(self) -> frozenset[str]:
        """The channels that can work here now."""
        return frozenset(n for n, c in self.channels.items() if c.unavailable() is None)

    async def deliver(
        self, decision: Event, request: Event | None, *, only: frozenset[str] | None = None
    ) -> Report:
        """Send ``decision`` to its channels (``only`` these, when given: a stale delivery goes
        to the quiet channels alone)."""
        report = Report()
        if decision.type != catalog.NOTIFICATION_DELIVERED:
            return report
        notice = notice_for(decision, request)
        names = [n for n in notice.channels if n in self.channels and (only is None or n in only)]
        for name in notice.channels:
            if name not in names:
                report.skipped[name] = (
                    "not configured in this process" if name not in self.channels else "stale"
                )
        results = await asyncio.gather(*(self._send(self.channels[n], notice) for n in names))
        for name, (outcome, detail) in zip(names, results, strict=True):
            if outcome == "sent":
                report.sent[name] = detail if isinstance(detail, dict) else {}
            elif outcome == "skipped":
                report.skipped[name] = str(detail)
            else:
                report.failed[name] = str(detail)
                report.events.append(self._failed(decision, notice, name, str(detail)))
        return report

    async def _send(self, channel: Channel, notice: Notice) -> tuple[str, Any]:
        why = channel.unavailable()
        if why:
            return "skipped", why
        try:
            if self.breakers is None:
                result = await self.retry.acall(lambda: channel.send(notice))
            else:
                breaker = self.breakers.get(f"channel.{channel.name}", CHANNEL_POLICY)
                result = await self.retry.acall(lambda: breaker.acall(channel.send, notice))
        except ChannelUnavailable as exc:
            return "skipped", str(exc)
        except CircuitOpen as exc:
            return "failed", str(exc)
        except TimeoutError:
            return "failed", "timed out"
        except ChannelError as exc:
            return "failed", str(exc)
        except Exception as exc:
            log.exception("channel crashed", extra={"channel": channel.name})
            return "failed", f"{type(exc).__name__}: {exc}"
        return "sent", result or {}

    def _failed(self, decision: Event, notice: Notice, channel: str, error: str) -> Event:
        return new_event(
            catalog.NOTIFICATION_FAILED,
            {"request_id": notice.request_id, "channel": channel, "error": error},
            clock=self.clock,
            source=SOURCE,
            subject=decision.subject,
            cause=decision,
        )


def is_stale(decision: Event, now: datetime, stale_s: float) -> bool:
    """A delivery decided long ago (the daemon was down): interrupting now would mislead."""
    from vigil.clock import parse_iso

    return (now - parse_iso(decision.time)).total_seconds() > stale_s
