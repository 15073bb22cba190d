"""Daily windows (quiet hours, meetings) in a time zone: is ``now`` inside, and until when.

A window is ``HH:MM-HH:MM`` and may cross midnight (``22:00-07:30``). ``now`` is always handed
in; the zone is an IANA name, or ``None`` for this machine's local zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Window:
    """A daily window, in minutes after local midnight; ``end < start`` crosses midnight."""

    text: str
    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> Window:
        begin, finish = (part.strip() for part in text.split("-", 1))
        return cls(text.strip(), _minutes(begin), _minutes(finish))

    def contains(self, minute: int) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def end_after(self, now: datetime, zone: tzinfo | None) -> datetime | None:
        """When this window ends, if ``now`` is inside it (UTC); ``None`` if outside."""
        local = now.astimezone(zone) if zone is not None else now.astimezone()
        minute = local.hour * 60 + local.minute
        if not self.contains(minute):
            return None
        end = local.replace(hour=self.end // 60, minute=self.end % 60, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        if zone is not None:  # the wall time of the end, in that day's offset (DST)
            end = datetime.combine(end.date(), end.time(), tzinfo=zone)
        return end.astimezone(UTC)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@lru_cache(maxsize=16)
def zone(name: str | None) -> tzinfo | None:
    """The zone called ``name`` (``None``: the machine's local zone, resolved per moment)."""
    if name is None:
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def local_text(moment: datetime, zone_: tzinfo | None) -> str:
    """``HH:MM`` of ``moment`` in the zone, for reasons people read."""
    local = moment.astimezone(zone_) if zone_ is not None else moment.astimezone()
    return local.strftime("%H:%M")
