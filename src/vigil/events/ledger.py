"""Deliveries seen: a key (a webhook's delivery id, an ``Idempotency-Key``) is stored once.

A sender that repeats a delivery (GitHub's "redeliver", a client retrying after a timeout
whose request did arrive) gets the first delivery's event ids back and nothing is stored twice:
the key is inserted in the same transaction as the delivery's events (an :mod:`intake` claim).

Table (namespace ``ledger``)::

    deliveries  key (e.g. ``github:<X-GitHub-Delivery>``) | event_ids (JSON) | time
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from vigil.clock import Clock, isoformat
from vigil.events.intake import Claim
from vigil.events.model import Event
from vigil.storage import Database, apply_migrations, sql

MIGRATIONS = [
    sql(
        """CREATE TABLE deliveries (
            key TEXT PRIMARY KEY,
            event_ids TEXT NOT NULL,
            time TEXT NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX deliveries_time ON deliveries (time)",
    )
]


class Ledger:
    """Claims that keep a unit's events only the first time its key is seen."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        apply_migrations(db, "ledger", MIGRATIONS)

    def once(self, key: str) -> Claim:
        """A claim: keep every event if ``key`` is new (and record it), none if it was seen."""

        def claim(conn: sqlite3.Connection, events: Sequence[Event]) -> Sequence[Event]:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO deliveries (key, event_ids, time) VALUES (?, ?, ?)",
                (key, json.dumps([e.id for e in events]), isoformat(self.clock.now())),
            ).rowcount
            return events if inserted else ()

        return claim

    def seen(self, key: str) -> list[str] | None:
        """The event ids the first delivery with ``key`` stored, or ``None`` if never seen."""
        row = self.db.query_one("SELECT event_ids FROM deliveries WHERE key = ?", (key,))
        return None if row is None else list(json.loads(row[0]))

    def count(self, prefix: str = "") -> int:
        row = self.db.query_one(
            "SELECT COUNT(*) FROM deliveries WHERE key >= ? AND key < ?",
            (prefix, prefix + "\U0010ffff"),
        )
        return int(row[0]) if row else 0

    def prune(self, before: str) -> int:
        """Forget keys first seen before ``before`` (ISO time); returns how many."""
        with self.db.transaction() as conn:
            return int(conn.execute("DELETE FROM deliveries WHERE time < ?", (before,)).rowcount)
