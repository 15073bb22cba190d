"""Time, injected: production uses :class:`SystemClock`; tests use ``vigil.testing.FakeClock``.

Only this module reads the wall clock. Timestamps cross boundaries as ISO 8601 strings in UTC
with microseconds and a ``Z`` suffix, which sort lexicographically in time order.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from vigil.errors import UsageError


class Clock(Protocol):
    """A source of wall time (for records) and monotonic time (for durations)."""

    def now(self) -> datetime:
        """The current wall time, timezone-aware, UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        import asyncio  # here, not at the top: the CLI's start-up does not need asyncio

        await asyncio.sleep(seconds)


def isoformat(moment: datetime) -> str:
    """``moment`` as a fixed-width, sortable UTC string: ``2026-11-22T00:42:39.123456Z``."""
    if moment.utcoffset() is not None and moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 time (``Z`` or offset; naive means UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"not a valid time: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|w|week)s?\s*(ago)?\s*$")
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400}
_UNITS |= {"w": 604800, "week": 604800}


def parse_since(text: str, now: datetime) -> datetime:
    """A point in time from ``10m``, ``2h``, ``3d``, ``1w`` (ago), ``today`` or ISO 8601."""
    lowered = text.strip().lower()
    if lowered == "today":
        return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if lowered == "yesterday":
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=1)
    match = _RELATIVE.match(lowered)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        return parse_iso(text)
    except UsageError:
        raise UsageError(
            f"not a valid time: {text!r} (use 10m, 2h, 3d, 1w, today or ISO 8601)"
        ) from None
