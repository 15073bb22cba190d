"""Sessions: spans of activity separated by idle gaps (default 2 hours, ``[memory] idle_gap_h``).

Every ``vigil`` command marks activity by rewriting one small file, ``run/session.json`` (no
database, so a read command stays fast): ``started`` (when this session began), ``last_active``
and ``previous_end`` (the last activity of the session before, which is where "since last time"
starts). The first command after a gap starts a new session, and :meth:`Sessions.touch` says so,
once: that command prints the short briefing.

Time is an input (``now``), so tests drive idle gaps with a fake clock.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FILE = "session.json"


class Session:
    """The current session: when it started, its last activity, and where the one before ended
    (``None`` when there was none: the first session of this home).

    A plain class, not a dataclass: every command reads it, and ``dataclasses`` imports
    ``inspect`` (a tenth of a bare start-up)."""

    __slots__ = ("last_active", "previous_end", "started")

    def __init__(
        self, started: datetime, last_active: datetime, previous_end: datetime | None
    ) -> None:
        self.started = started
        self.last_active = last_active
        self.previous_end = previous_end

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Session) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Session({self.to_dict()!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "started": isoformat(self.started),
            "last_active": isoformat(self.last_active),
            "previous_end": isoformat(self.previous_end) if self.previous_end else None,
        }


class Sessions:
    """Reads and marks activity in ``run_dir/session.json``."""

    def __init__(self, run_dir: Path, idle_gap: timedelta) -> None:
        self.path = run_dir / FILE
        self.idle_gap = idle_gap

    def current(self) -> Session | None:
        """The stored session, or ``None`` (none yet, or the file is unreadable)."""
        try:
            data = json.loads(self.path.read_text())
            return Session(
                parse_iso(data["started"]),
                parse_iso(data["last_active"]),
                parse_iso(data["previous_end"]) if data.get("previous_end") else None,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def touch(self, now: datetime) -> tuple[Session, bool]:
        """Mark activity at ``now``; returns the session and whether this began a new one.

        A new session begins after an idle gap longer than ``idle_gap`` (or with no session
        yet). Activity that seems to come from the past (a clock set back) counts as now.
        """
        old = self.current()
        if old is None:
            session, new = Session(now, now, None), True
        elif now - old.last_active > self.idle_gap:
            session, new = Session(now, now, old.last_active), True
        else:
            session, new = Session(old.started, max(now, old.last_active), old.previous_end), False
        self._write(session)
        return session, new

    def _write(self, session: Session) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.path.with_name(f".{FILE}.{os.getpid()}")
            scratch.write_text(json.dumps(session.to_dict()))
            scratch.replace(self.path)
        except OSError:
            pass  # a read-only home: no session marks, and every command stays quiet


def isoformat(moment: datetime) -> str:
    """``vigil.clock.isoformat``, here so that marking a session never imports ``typing``."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_iso(text: str) -> datetime:
    """``vigil.clock.parse_iso`` for this file's own times (``ValueError`` when malformed)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
