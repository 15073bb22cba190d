"""The durable event log on SQLite: appends, reads by position, consumer offsets, dead letters.

Tables (namespace ``events``)::

    events            seq (position, never reused) | id | type | time | source | subject | data
                      | fingerprint | correlation_id | causation_id
    consumer_offsets  consumer -> highest seq it has finished
    consumer_done     (consumer, event_id): the idempotency key; a handler's outputs, its store
                      writes, this row and the new offset commit in ONE transaction, so a replay
                      after a crash never doubles an effect
    dead_letters      an event a handler failed on, with the error, kept for inspection

Writers serialise on SQLite's lock (``BEGIN IMMEDIATE``), so ``seq`` becomes visible in order:
a reader that has seen seq N never later finds a new event below N. The tables and the read
queries are in :mod:`vigil.events.table`, which readers that need no Event objects use alone.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from vigil.clock import Clock, isoformat
from vigil.events.model import Event
from vigil.events.table import (
    COLUMNS,
    MIGRATIONS,
    ensure_schema,
    find_rows,
    glob_clause,
    row_by_id,
    rows_after,
)
from vigil.storage import Database

if TYPE_CHECKING:
    from vigil.storage import Redactor

__all__ = ["MIGRATIONS", "DeadLetter", "SqliteEventLog", "glob_clause"]

_INSERT = (
    "INSERT INTO events (id, type, time, source, subject, data, fingerprint, correlation_id,"
    " causation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _from_row(row: sqlite3.Row | tuple[Any, ...]) -> Event:
    return Event(
        seq=row[0],
        id=row[1],
        type=row[2],
        time=row[3],
        source=row[4],
        subject=row[5],
        data=json.loads(row[6]),
        fingerprint=row[7],
        correlation_id=row[8],
        causation_id=row[9],
    )


# Below this many characters, an event is scanned once before its strings are walked.
_PROBE_LIMIT = 4096


def _params(event: Event, data_json: str) -> tuple[Any, ...]:
    return (
        event.id,
        event.type,
        event.time,
        event.source,
        event.subject,
        data_json,
        event.fingerprint,
        event.correlation_id,
        event.causation_id,
    )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    consumer: str
    event_id: str
    event_seq: int | None
    error: str
    detail: str
    time: str


class SqliteEventLog:
    """Append-only event log with durable consumer bookkeeping.

    Every appended event is redacted first (``source``, ``subject`` and every string in ``data``,
    see :mod:`vigil.storage.redact`): a secret never reaches the database, and the events that
    ``append`` returns, which handlers then see, are the stored, redacted ones. The default
    redactor knows this process's secret environment variables.
    """

    def __init__(self, db: Database, clock: Clock, redactor: Redactor | None = None) -> None:
        self.db = db
        self.clock = clock
        self._redactor = redactor
        ensure_schema(db)

    @property
    def redactor(self) -> Redactor:
        """Built on the first write: a process that only reads never scans its environment."""
        if self._redactor is None:
            from vigil.storage.redact import Redactor

            self._redactor = Redactor.from_environment()
        return self._redactor

    # -- writing ---------------------------------------------------------------------------

    def append(self, events: Iterable[Event]) -> list[Event]:
        """Store ``events`` in one transaction (all or nothing) and return them with ``seq``."""
        batch = list(events)
        if not batch:
            return []
        with self.db.transaction() as conn:
            return self.append_in(conn, batch)

    def append_handled(
        self,
        events: Sequence[Event],
        consumer: str,
        event_id: str,
        apply: Callable[[], object] | None = None,
    ) -> list[Event]:
        """Append ``events`` and mark ``event_id`` as handled by ``consumer``, atomically.

        For work done before the event is even stored (``vigil run`` diagnosing its own
        failure): the consumer will find it done and skip it.
        """
        with self.db.transaction() as conn:
            stored = self.append_in(conn, events)
            conn.execute(
                "INSERT OR IGNORE INTO consumer_done (consumer, event_id) VALUES (?, ?)",
                (consumer, event_id),
            )
            if apply is not None:
                apply()
            return stored

    def append_in(self, conn: sqlite3.Connection, events: Sequence[Event]) -> list[Event]:
        """Append (redacted) inside a transaction the caller holds."""
        prepared = [self._prepared(e) for e in events]
        events = [event for event, _ in prepared]
        if len(events) == 1:
            cursor = conn.execute(_INSERT, _params(*prepared[0]))
            return [events[0].with_seq(int(cursor.lastrowid or 0))]
        before = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        conn.executemany(_INSERT, [_params(*p) for p in prepared])
        # One writer at a time and AUTOINCREMENT: the batch occupies the next len(events) seqs.
        rows = conn.execute("SELECT seq, id FROM events WHERE seq > ? ORDER BY seq", (before,))
        seqs = {event_id: seq for seq, event_id in rows}
        return [e.with_seq(seqs[e.id]) for e in events]

    def _prepared(self, event: Event) -> tuple[Event, str]:
        """The event as it will be stored (redacted) and its data as JSON.

        For a small event (the common one, with nothing to hide) one scan of its JSON says
        whether any string in it could hold a secret; only then are its strings walked. A large
        one (a build's output tail) usually has something that looks like a trigger, so it is
        walked at once rather than scanned twice.
        """
        data_json = event.data_json()
        redactor = self.redactor
        probe = f"{event.source}\n{event.subject or ''}\n{data_json}"
        if len(probe) < _PROBE_LIMIT and not redactor.needs_redaction(probe):
            return event, data_json
        data = redactor.redact_obj(event.data)
        source = redactor.redact(event.source)
        subject = None if event.subject is None else redactor.redact(event.subject)
        if data is event.data and source is event.source and subject is event.subject:
            return event, data_json
        redacted = replace(event, data=data, source=source, subject=subject)
        return redacted, redacted.data_json()

    # -- reading ---------------------------------------------------------------------------

    def last_seq(self) -> int:
        row = self.db.query_one("SELECT COALESCE(MAX(seq), 0) FROM events")
        return int(row[0]) if row else 0

    def read_after(
        self, seq: int, patterns: Sequence[str] = (), limit: int = 500, upto: int | None = None
    ) -> list[Event]:
        """Events after position ``seq`` (and at most ``upto``) whose type matches, oldest first."""
        return [_from_row(r) for r in rows_after(self.db, seq, patterns, limit, upto)]

    def get(self, event_id: str) -> Event:
        """One event by id (or unique id prefix)."""
        return _from_row(row_by_id(self.db, event_id))

    def find(
        self,
        *,
        patterns: Sequence[str] = (),
        since: str | None = None,
        limit: int = 50,
        after_seq: int = 0,
        causation_id: str | None = None,
        subject: str | None = None,
        newest_first: bool = True,
    ) -> list[Event]:
        """Query events by type pattern, time, cause and subject."""
        rows = find_rows(
            self.db,
            patterns=patterns,
            since=since,
            limit=limit,
            after_seq=after_seq,
            causation_id=causation_id,
            subject=subject,
            newest_first=newest_first,
        )
        return [_from_row(r) for r in rows]

    def caused_by(self, ids: Sequence[str], patterns: Sequence[str] = ()) -> list[Event]:
        """Events whose ``causation_id`` is one of ``ids`` and whose type matches, oldest first."""
        found: list[Event] = []
        where, params = glob_clause(patterns)
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            rows = self.db.query(
                f"SELECT {COLUMNS} FROM events WHERE causation_id IN ({marks}) AND {where}"
                " ORDER BY seq",
                [*chunk, *params],
            )
            found.extend(_from_row(r) for r in rows)
        found.sort(key=lambda e: e.seq or 0)
        return found

    def backlog(self, consumer: str, patterns: Sequence[str] = ()) -> int:
        """How many matching events ``consumer`` has still to handle."""
        where, params = glob_clause(patterns)
        row = self.db.query_one(
            f"SELECT COUNT(*) FROM events WHERE seq > ? AND {where} AND id NOT IN"
            " (SELECT event_id FROM consumer_done WHERE consumer = ?)",
            [self.offset(consumer), *params, consumer],
        )
        return int(row[0]) if row else 0

    def count(self) -> int:
        row = self.db.query_one("SELECT COUNT(*) FROM events")
        return int(row[0]) if row else 0

    # -- consumers -------------------------------------------------------------------------

    def offset(self, consumer: str) -> int:
        row = self.db.query_one("SELECT seq FROM consumer_offsets WHERE consumer = ?", (consumer,))
        return int(row[0]) if row else 0

    def offsets(self) -> dict[str, int]:
        rows = self.db.query("SELECT consumer, seq FROM consumer_offsets ORDER BY consumer")
        return {r[0]: int(r[1]) for r in rows}

    def is_done(self, consumer: str, event_id: str) -> bool:
        row = self.db.query_one(
            "SELECT 1 FROM consumer_done WHERE consumer = ? AND event_id = ?",
            (consumer, event_id),
        )
        return row is not None

    def process(
        self,
        consumer: str,
        event: Event,
        work: Callable[[], tuple[Sequence[Event], Callable[[], Sequence[Event] | None] | None]],
        *,
        advance: bool = True,
    ) -> list[Event] | None:
        """Run a handler's ``work`` for ``event`` exactly once per consumer.

        ``work`` computes (outside any lock) and returns the events to publish and an optional
        ``apply`` callback for store writes (which may return more events to publish).
        Outputs, writes, the done-marker and the offset commit together; ``None`` means
        another process (or an earlier run) already did it.
        Work done inline, outside the consumer's own loop (``vigil run`` triaging its own
        failure), passes ``advance=False``: the consumer may not have reached earlier events.
        """
        if self.is_done(consumer, event.id):
            if advance:
                self._advance(consumer, event)
            return None
        outputs, apply = work()
        with self.db.transaction() as conn:
            claimed = conn.execute(
                "INSERT OR IGNORE INTO consumer_done (consumer, event_id) VALUES (?, ?)",
                (consumer, event.id),
            ).rowcount
            if claimed:
                more = apply() if apply is not None else None
                batch = [*outputs, *(more or ())]
                stored = self.append_in(conn, batch) if batch else []
            if advance:
                self._set_offset(conn, consumer, event.seq)
        return stored if claimed else None

    def dead_letter(
        self, consumer: str, event: Event, error: str, detail: str, notice: Event | None = None
    ) -> list[Event]:
        """Record that ``consumer`` failed on ``event``; mark it done so the consumer moves on."""
        error = self.redactor.redact(error)  # an error message may echo a key it was handed
        detail = self.redactor.redact(detail)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO dead_letters (consumer, event_id, event_seq, error, detail, time)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (consumer, event.id, event.seq, error, detail, isoformat(self.clock.now())),
            )
            conn.execute(
                "INSERT OR IGNORE INTO consumer_done (consumer, event_id) VALUES (?, ?)",
                (consumer, event.id),
            )
            self._set_offset(conn, consumer, event.seq)
            return self.append_in(conn, [notice]) if notice is not None else []

    def dead_letters(self, consumer: str | None = None, limit: int = 100) -> list[DeadLetter]:
        rows = self.db.query(
            "SELECT id, consumer, event_id, event_seq, error, detail, time FROM dead_letters"
            " WHERE (? IS NULL OR consumer = ?) ORDER BY id DESC LIMIT ?",
            (consumer, consumer, limit),
        )
        return [DeadLetter(*r) for r in rows]

    def _advance(self, consumer: str, event: Event) -> None:
        if event.seq is None:
            return
        with self.db.transaction() as conn:
            self._set_offset(conn, consumer, event.seq)

    def _set_offset(self, conn: sqlite3.Connection, consumer: str, seq: int | None) -> None:
        if seq is None:
            return
        conn.execute(
            "INSERT INTO consumer_offsets (consumer, seq, updated) VALUES (?, ?, ?)"
            " ON CONFLICT (consumer) DO UPDATE SET seq = MAX(seq, excluded.seq),"
            " updated = excluded.updated",
            (consumer, seq, isoformat(self.clock.now())),
        )
