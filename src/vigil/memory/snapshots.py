"""Snapshots of a failing run's dirty files, so a fix learned later can show the change.

git keeps committed content, but the red state of a fix is often uncommitted: the file as it
was when the command failed is gone once it is fixed. When a run fails, the text of its dirty
files (as ``vigil.sources.git.dirty_contents`` reads them) is kept here, keyed by git blob id, so
the learner can diff red against green when the command passes again.

- Deduplicated by blob id: the same dirty content across many failing runs is stored once; a
  sighting only refreshes its ``used`` time (at most once an hour).
- Redacted before it is stored, like everything Vigil stores (``vigil.storage.redact``).
- Bounded: the caller caps what one run keeps (per file, per run, binary skipped); the store
  keeps at most :data:`MAX_BLOBS` snapshots and :data:`MAX_BYTES` of text, dropping the least
  recently used first, and forgets any not used for :data:`KEEP_DAYS` days.

Migration namespace ``snapshots``; the table is ``file_snapshots``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from datetime import timedelta

from vigil.clock import Clock, isoformat
from vigil.storage import Database, Redactor, apply_migrations, sql

NAMESPACE = "snapshots"
MAX_BLOBS = 5000
MAX_BYTES = 64 * 1024 * 1024
KEEP_DAYS = 30

MIGRATIONS = [
    sql(
        # A rowid table with the text last: bookkeeping (used, bytes) is read from the covering
        # index, never from the big rows.
        """CREATE TABLE file_snapshots (
            blob TEXT PRIMARY KEY,
            bytes INTEGER NOT NULL,
            stored TEXT NOT NULL,
            used TEXT NOT NULL,
            content TEXT NOT NULL
        )""",
        "CREATE INDEX file_snapshots_used ON file_snapshots (used, bytes)",
    ),
]
#: A snapshot seen again is marked used at most this often (a failing loop writes nothing new).
TOUCH_EVERY = timedelta(hours=1)


class SnapshotStore:
    """File contents by git blob id (redacted text), for diffs of learned fixes."""

    def __init__(self, db: Database, clock: Clock, *, redactor: Redactor | None = None) -> None:
        apply_migrations(db, NAMESPACE, MIGRATIONS)
        self._db = db
        self._clock = clock
        self._redactor = redactor if redactor is not None else Redactor.from_environment()

    def clean(self, text: str) -> str:
        """``text`` as it may be stored: secrets redacted (the same way a snapshot is)."""
        return self._redactor.redact(text)

    def known(self, blobs: Iterable[str]) -> set[str]:
        """Which of ``blobs`` are stored already."""
        wanted = sorted(set(blobs))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._db.query(
                f"SELECT blob FROM file_snapshots WHERE blob IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update(str(row[0]) for row in rows)
        return found

    def keep(self, contents: Mapping[str, str], *, seen: Iterable[str] = ()) -> int:
        """Store ``contents`` (blob id -> text) and mark ``seen`` blobs used now; returns how many
        snapshots were new. Prunes in the same transaction."""
        now = self._clock.now()
        stamp = isoformat(now)
        cleaned = {blob: self.clean(text) for blob, text in contents.items()}
        touched = sorted(set(seen) - set(cleaned))
        if not cleaned and not touched:
            return 0
        with self._db.transaction() as conn:
            added = 0
            for blob, text in cleaned.items():
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO file_snapshots (blob, bytes, stored, used, content)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (blob, len(text.encode()), stamp, stamp, text),
                )
                added += max(0, cursor.rowcount)
            stale = isoformat(now - TOUCH_EVERY)
            conn.executemany(
                "UPDATE file_snapshots SET used = ? WHERE blob = ? AND used < ?",
                [(stamp, blob, stale) for blob in touched],
            )
            if added:
                self._prune(conn)
        return added

    def get(self, blobs: Iterable[str]) -> dict[str, str]:
        """The stored (redacted) text of each of ``blobs`` that is stored."""
        wanted = sorted(set(blobs))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._db.query(
                "SELECT blob, content FROM file_snapshots"
                f" WHERE blob IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update((str(row[0]), str(row[1])) for row in rows)
        return found

    def stats(self) -> dict[str, int]:
        """How many snapshots are stored, and their size in bytes."""
        row = self._db.query_one("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM file_snapshots")
        return {"blobs": int(row[0]) if row else 0, "bytes": int(row[1]) if row else 0}

    def _prune(self, conn: sqlite3.Connection) -> None:
        cutoff = isoformat(self._clock.now() - timedelta(days=KEEP_DAYS))
        conn.execute("DELETE FROM file_snapshots WHERE used < ?", (cutoff,))
        count, size = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM file_snapshots"
        ).fetchone()
        if count <= MAX_BLOBS and size <= MAX_BYTES:
            return
        extra_rows = max(0, count - MAX_BLOBS)
        extra_bytes = max(0, size - MAX_BYTES)
        doomed: list[str] = []
        for blob, length in conn.execute("SELECT blob, bytes FROM file_snapshots ORDER BY used"):
            if extra_rows <= 0 and extra_bytes <= 0:
                break
            doomed.append(blob)
            extra_rows -= 1
            extra_bytes -= length
        conn.executemany("DELETE FROM file_snapshots WHERE blob = ?", [(b,) for b in doomed])
