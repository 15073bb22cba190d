"""What the dashboard reads, handed in by the composition root (``vigil.app.faces``).

Plain callables and stores, so the dashboard knows nothing of how the daemon is wired and a
test can build one on a real state directory without a daemon. The synchronous callables run
on the database's thread (``db.call``): they may query SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.clock import Clock
from vigil.events.log import SqliteEventLog
from vigil.notify.channels.dashboard import Broadcast
from vigil.reliability.metrics import Rollup
from vigil.storage import Database


def _no_rollups(start: int, end: int) -> list[Rollup]:
    return []


@dataclass(slots=True)
class Sources:
    """Everything the dashboard shows comes through here."""

    db: Database
    log: SqliteEventLog
    clock: Clock
    # The health report (``/api/health``'s body: readiness, components, breakers, probes).
    health: Callable[[], dict[str, Any]]
    # Proposals as ``vigil proposals --json`` gives them: pending only, or every one.
    proposals: Callable[[bool], list[dict[str, Any]]]
    # Knowledge: search hits (``SearchHit.to_dict``) and one entry (``Entry.to_dict``).
    search: Callable[[str], list[dict[str, Any]]]
    entry: Callable[[str], dict[str, Any]]
    # ``vigil why ID``: (kind, body) as ``vigil.app.why.why`` gives them.
    why: Callable[[str], tuple[str, dict[str, Any]]]
    # Metric rollups whose period starts in [start, end) (unix seconds): stored and unflushed.
    rollups: Callable[[int, int], Sequence[Rollup]] = _no_rollups
    # Delivered notices, live (the dashboard channel); None when the daemon has no notifier.
    notices: Broadcast | None = None
    # Where the spoken channel keeps its WAVs ($VIGIL_HOME/notifications).
    notifications_dir: Path | None = None
    # Set when the daemon stops: open live streams end.
    closing: asyncio.Event = field(default_factory=asyncio.Event)
