"""The event log's tables and the queries that read them, as plain rows.

:class:`~vigil.events.log.SqliteEventLog` turns these rows into :class:`~vigil.events.model.Event`
objects; a short-lived reader (``vigil events``) prints them as they come, through
:func:`event_dict`, and so starts without importing the event model (its dataclasses import
``inspect``, which alone costs a third of a bare interpreter's start-up). This module imports
nothing heavier than ``json``: no ``typing`` at run time either (``TYPE_CHECKING`` is spelt out).
"""

from __future__ import annotations

import json

from vigil.errors import NotFoundError, UsageError
from vigil.storage import Database, apply_migrations, sql

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence
    from typing import Any

MIGRATIONS = [
    sql(
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            time TEXT NOT NULL,
            source TEXT NOT NULL,
            subject TEXT,
            data TEXT NOT NULL,
            fingerprint TEXT,
            correlation_id TEXT,
            causation_id TEXT
        )""",
        "CREATE INDEX events_type_seq ON events (type, seq)",
        "CREATE INDEX events_time ON events (time)",
        "CREATE INDEX events_causation ON events (causation_id) WHERE causation_id IS NOT NULL",
        "CREATE INDEX events_subject ON events (subject, seq) WHERE subject IS NOT NULL",
        "CREATE INDEX events_fingerprint ON events (fingerprint, seq)"
        " WHERE fingerprint IS NOT NULL",
        """CREATE TABLE consumer_offsets (
            consumer TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            updated TEXT NOT NULL
        )""",
        """CREATE TABLE consumer_done (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            PRIMARY KEY (consumer, event_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE dead_letters (
            id INTEGER PRIMARY KEY,
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            event_seq INTEGER,
            error TEXT NOT NULL,
            detail TEXT NOT NULL,
            time TEXT NOT NULL
        )""",
        "CREATE INDEX dead_letters_consumer ON dead_letters (consumer, id)",
    ),
]

COLUMNS = "seq, id, type, time, source, subject, data, fingerprint, correlation_id, causation_id"
"""The columns every read selects, in the order :func:`event_dict` and the log's rows expect."""


def ensure_schema(db: Database) -> None:
    """Create or upgrade the log's tables."""
    apply_migrations(db, "events", MIGRATIONS)


def glob_clause(patterns: Sequence[str]) -> tuple[str, list[str]]:
    """SQL matching ``type`` against glob patterns (``*`` spans dots); empty means all."""
    if not patterns or "*" in patterns:
        return "1", []
    return "(" + " OR ".join("type GLOB ?" for _ in patterns) + ")", list(patterns)


def event_dict(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    """A row as the contract's JSON shape (``vigil events --json``, ``Event.to_dict``)."""
    return {
        "id": row[1],
        "seq": row[0],
        "type": row[2],
        "time": row[3],
        "source": row[4],
        "subject": row[5],
        "data": json.loads(row[6]),
        "fingerprint": row[7],
        "causation_id": row[9],
        "correlation_id": row[8],
    }


def last_seq(db: Database) -> int:
    row = db.query_one("SELECT COALESCE(MAX(seq), 0) FROM events")
    return int(row[0]) if row else 0


def rows_after(
    db: Database,
    seq: int,
    patterns: Sequence[str] = (),
    limit: int = 500,
    upto: int | None = None,
) -> list[sqlite3.Row]:
    """Rows after position ``seq`` (and at most ``upto``) whose type matches, oldest first."""
    where, params = glob_clause(patterns)
    bound = "" if upto is None else f" AND seq <= {int(upto)}"
    return db.query(
        f"SELECT {COLUMNS} FROM events WHERE seq > ?{bound} AND {where} ORDER BY seq LIMIT ?",
        [seq, *params, limit],
    )


def row_by_id(db: Database, event_id: str) -> sqlite3.Row:
    """One row by event id (or a unique start of one)."""
    row = db.query_one(f"SELECT {COLUMNS} FROM events WHERE id = ?", (event_id,))
    if row is None and len(event_id) >= 6:
        rows = db.query(
            f"SELECT {COLUMNS} FROM events WHERE id >= ? AND id < ? LIMIT 2",
            (event_id, event_id + "\U0010ffff"),
        )
        if len(rows) > 1:
            raise UsageError(f"event id prefix {event_id!r} is ambiguous")
        row = rows[0] if rows else None
    if row is None:
        raise NotFoundError(f"no event with id {event_id!r}")
    return row


def find_rows(
    db: Database,
    *,
    patterns: Sequence[str] = (),
    since: str | None = None,
    limit: int = 50,
    after_seq: int = 0,
    causation_id: str | None = None,
    subject: str | None = None,
    newest_first: bool = True,
) -> list[sqlite3.Row]:
    """Rows by type pattern, time, cause and subject."""
    where, params = glob_clause(patterns)
    clauses: list[str] = [where, "seq > ?"]
    values: list[Any] = [*params, after_seq]
    if since is not None:
        clauses.append("time >= ?")
        values.append(since)
    if causation_id is not None:
        clauses.append("causation_id = ?")
        values.append(causation_id)
    if subject is not None:
        clauses.append("subject = ?")
        values.append(subject)
    order = "DESC" if newest_first else "ASC"
    return db.query(
        f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(clauses)} ORDER BY seq {order} LIMIT ?",
        [*values, limit],
    )
