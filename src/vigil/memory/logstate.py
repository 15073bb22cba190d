"""What Vigil keeps about the logs it follows: their templates and how far it has read.

Two tables (namespace ``logs``):

* ``log_templates``: per *stream* (a followed file's absolute path, or ``journald``), every
  template the miner found, with its masked tokens (so the miner restarts where it stopped),
  its text, count and first/last seen. Text is redacted before it is stored.
* ``log_offsets``: per stream, the position just after the last record fully handled: a file's
  device, inode and byte offset, or journald's cursor. A restart resumes there, so no record is
  lost and none is read twice.

This layer does not import the miner (``parsing`` is a sibling): it stores plain rows, and the
composition root converts them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from vigil.storage import Database, Redactor, apply_migrations, sql

MIGRATIONS = [
    sql(
        """CREATE TABLE log_templates (
            stream TEXT NOT NULL,
            template_id TEXT NOT NULL,
            text TEXT NOT NULL,
            tokens TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            first_seen TEXT,
            last_seen TEXT,
            PRIMARY KEY (stream, template_id)
        )""",
        """CREATE TABLE log_offsets (
            stream TEXT PRIMARY KEY,
            device INTEGER,
            inode INTEGER,
            offset INTEGER NOT NULL DEFAULT 0,
            cursor TEXT,
            updated TEXT NOT NULL
        )""",
    )
]


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    stream: str
    template_id: str
    text: str
    tokens: tuple[str, ...]
    count: int
    first_seen: str | None
    last_seen: str | None


@dataclass(frozen=True, slots=True)
class StoredOffset:
    stream: str
    device: int | None
    inode: int | None
    offset: int
    cursor: str | None
    updated: str


class LogState:
    """Templates and read positions of followed logs, in the state database."""

    def __init__(self, db: Database, redactor: Redactor | None = None) -> None:
        self.db = db
        self.redactor = redactor or Redactor.from_environment()
        apply_migrations(db, "logs", MIGRATIONS)

    # -- templates ----------------------------------------------------------------------------

    def templates(self, stream: str | None = None) -> list[StoredTemplate]:
        """The stored templates of ``stream`` (every stream's when ``None``), in id order."""
        if stream is None:
            rows = self.db.query(
                "SELECT stream, template_id, text, tokens, count, first_seen, last_seen"
                " FROM log_templates ORDER BY stream, CAST(substr(template_id, 2) AS INTEGER)"
            )
        else:
            rows = self.db.query(
                "SELECT stream, template_id, text, tokens, count, first_seen, last_seen"
                " FROM log_templates WHERE stream = ?"
                " ORDER BY CAST(substr(template_id, 2) AS INTEGER)",
                (stream,),
            )
        return [
            StoredTemplate(
                stream=row[0],
                template_id=row[1],
                text=row[2],
                tokens=tuple(json.loads(row[3])),
                count=row[4],
                first_seen=row[5],
                last_seen=row[6],
            )
            for row in rows
        ]

    def streams(self) -> list[str]:
        return [row[0] for row in self.db.query("SELECT DISTINCT stream FROM log_templates")]

    def save_templates(self, templates: Iterable[StoredTemplate]) -> int:
        """Insert or update templates in one transaction; returns how many."""
        redact = self.redactor.redact
        rows = [
            (
                t.stream,
                t.template_id,
                redact(t.text),
                redact(json.dumps(list(t.tokens), ensure_ascii=False)),
                t.count,
                t.first_seen,
                t.last_seen,
            )
            for t in templates
        ]
        if not rows:
            return 0
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO log_templates"
                " (stream, template_id, text, tokens, count, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (stream, template_id) DO UPDATE SET text = excluded.text,"
                " tokens = excluded.tokens, count = excluded.count,"
                " first_seen = COALESCE(log_templates.first_seen, excluded.first_seen),"
                " last_seen = COALESCE(excluded.last_seen, log_templates.last_seen)",
                rows,
            )
        return len(rows)

    # -- offsets ------------------------------------------------------------------------------

    def offset(self, stream: str) -> StoredOffset | None:
        row = self.db.query_one(
            "SELECT stream, device, inode, offset, cursor, updated FROM log_offsets"
            " WHERE stream = ?",
            (stream,),
        )
        if row is None:
            return None
        return StoredOffset(row[0], row[1], row[2], row[3], row[4], row[5])

    def save_offset(self, position: StoredOffset) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO log_offsets (stream, device, inode, offset, cursor, updated)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (stream) DO UPDATE SET device = excluded.device,"
                " inode = excluded.inode, offset = excluded.offset, cursor = excluded.cursor,"
                " updated = excluded.updated",
                (
                    position.stream,
                    position.device,
                    position.inode,
                    position.offset,
                    position.cursor,
                    position.updated,
                ),
            )

    def save(self, templates: Iterable[StoredTemplate], position: StoredOffset | None) -> None:
        """Templates and the read position together: one transaction, so a crash between them
        never leaves counts that include records the offset says were not read."""
        with self.db.transaction():
            self.save_templates(templates)
            if position is not None:
                self.save_offset(position)
