"""Metrics in SQLite: per-minute rollup rows, merged on write, compacted into hours.

Storage (migration namespace ``metrics``): ``metric_rollups`` holds one row per
(period, start, name, labels) with count, failures, sum, min, max, last and the bucket counts
(sparse ``index:count`` text; the bucket layout is :mod:`~vigil.reliability.metrics_window`'s).
``start`` is unix seconds (UTC) at the start of the period. ``resource_samples`` keeps the
daemon's last resource sample (one row).

Retention (:func:`compact`, run hourly): minute rows are kept 48 hours, then merged into hourly
rows (period 3600), which are kept 30 days.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vigil.reliability.metrics_window import (
    COUNTER,
    DAY,
    GAUGE,
    HOUR,
    MINUTE,
    SLOTS,
    TIMER,
    Labels,
    Rollup,
    Window,
)
from vigil.storage import Database, apply_migrations, sql

if TYPE_CHECKING:
    import sqlite3

MINUTE_RETENTION_S = 48 * HOUR
HOUR_RETENTION_S = 30 * DAY

MIGRATIONS = [
    sql(
        """
        CREATE TABLE metric_rollups (
            period INTEGER NOT NULL,
            start INTEGER NOT NULL,
            name TEXT NOT NULL,
            labels TEXT NOT NULL,
            kind TEXT NOT NULL,
            count INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            sum REAL NOT NULL,
            min REAL,
            max REAL,
            last REAL,
            buckets TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (period, start, name, labels)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX metric_rollups_start ON metric_rollups (start)",
        """
        CREATE TABLE resource_samples (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            at TEXT NOT NULL,
            sample TEXT NOT NULL
        )
        """,
    ),
]


def ensure_schema(db: Database) -> None:
    """Create or upgrade the ``metrics`` tables."""
    apply_migrations(db, "metrics", MIGRATIONS)


def store_rollups(conn: sqlite3.Connection, rows: Iterable[Rollup]) -> None:
    """Merge ``rows`` into ``metric_rollups`` (inside the caller's transaction)."""
    for row in rows:
        labels = encode_labels(row.labels)
        stored = conn.execute(
            "SELECT kind, count, failures, sum, min, max, last, buckets FROM metric_rollups"
            " WHERE period = ? AND start = ? AND name = ? AND labels = ?",
            (row.period, row.start, row.name, labels),
        ).fetchone()
        window = row.window
        if stored is not None and stored[0] == window.kind:
            window = window_from_row(stored)
            window.merge(row.window)
        conn.execute(
            "INSERT OR REPLACE INTO metric_rollups (period, start, name, labels, kind, count,"
            " failures, sum, min, max, last, buckets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.period,
                row.start,
                row.name,
                labels,
                window.kind,
                window.count,
                window.failures,
                window.sum,
                window.min if window.count and window.kind != COUNTER else None,
                window.max if window.count and window.kind != COUNTER else None,
                window.last if window.kind == GAUGE else None,
                encode_buckets(window.buckets),
            ),
        )


def encode_labels(labels: Labels) -> str:
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))


def decode_labels(text: str) -> Labels:
    return tuple(sorted((str(k), str(v)) for k, v in json.loads(text).items()))


def encode_buckets(buckets: Sequence[int]) -> str:
    """Sparse ``index:count`` pairs, e.g. ``"7:120,8:3"``; empty for no buckets."""
    return ",".join(f"{i}:{n}" for i, n in enumerate(buckets) if n)


def decode_buckets(text: str) -> list[int]:
    buckets = [0] * SLOTS
    for pair in filter(None, text.split(",")):
        index, _, count = pair.partition(":")
        buckets[int(index)] += int(count)
    return buckets


def window_from_row(row: Sequence[Any]) -> Window:
    kind, count, failures, total, low, high, last, buckets = row
    window = Window(kind)
    window.count, window.failures, window.sum = int(count), int(failures), float(total)
    window.min = math.inf if low is None else float(low)
    window.max = -math.inf if high is None else float(high)
    window.last = 0.0 if last is None else float(last)
    if kind == TIMER:
        window.buckets = decode_buckets(buckets or "")
    return window


def load_rollups(db: Database, start: int, end: int) -> list[Rollup]:
    """Stored rows whose period starts in ``[start, end)``, oldest first."""
    rows = db.query(
        "SELECT start, period, name, labels, kind, count, failures, sum, min, max, last, buckets"
        " FROM metric_rollups WHERE start >= ? AND start < ? ORDER BY start, period",
        (start, end),
    )
    return [
        Rollup(r[0], r[1], r[2], decode_labels(r[3]), window_from_row(tuple(r)[4:])) for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Compaction:
    """What one :func:`compact` did."""

    minutes_rolled: int
    hours_written: int
    rows_expired: int


def compact(db: Database, now: datetime) -> Compaction:
    """Roll minute rows older than 48 h into hourly rows; drop hourly rows older than 30 days.

    Only whole hours are rolled up, so a minute row lives between 48 and 49 hours.
    """
    ensure_schema(db)
    moment = int(now.timestamp())
    minute_cutoff = (moment - MINUTE_RETENTION_S) // HOUR * HOUR
    hour_cutoff = moment - HOUR_RETENTION_S
    with db.transaction() as conn:
        old = conn.execute(
            "SELECT start, name, labels, kind, count, failures, sum, min, max, last, buckets"
            " FROM metric_rollups WHERE period = ? AND start < ? ORDER BY start",
            (MINUTE, minute_cutoff),
        ).fetchall()
        hours: dict[tuple[int, str, str], Window] = {}
        for row in old:
            key = (row[0] // HOUR * HOUR, row[1], row[2])
            window = window_from_row(tuple(row)[3:])
            present = hours.get(key)
            if present is None or present.kind != window.kind:
                hours[key] = window
            else:
                present.merge(window)
        store_rollups(
            conn,
            (
                Rollup(hour, HOUR, name, decode_labels(labels), window)
                for (hour, name, labels), window in hours.items()
            ),
        )
        conn.execute(
            "DELETE FROM metric_rollups WHERE period = ? AND start < ?", (MINUTE, minute_cutoff)
        )
        expired = conn.execute(
            "DELETE FROM metric_rollups WHERE start < ?", (hour_cutoff,)
        ).rowcount
    return Compaction(minutes_rolled=len(old), hours_written=len(hours), rows_expired=expired)
