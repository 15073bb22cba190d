"""The ``kb_entries`` table: rows to entries and back, inserts, changed-column updates, id lookup.

Only the columns that changed are written, so an update that leaves title, body and tags alone
(a confidence bump, a sighting) does not make the triggers re-index the entry's text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from vigil.errors import NotFoundError, UsageError
from vigil.memory.entry import ID_PREFIX, Entry, check_kind, check_status

#: Every column but ``seq``, in insert order; ``id`` never changes once written.
COLUMNS = (
    "id",
    "kind",
    "title",
    "body",
    "tags",
    "fingerprints",
    "status",
    "confidence",
    "seen",
    "provenance",
    "created",
    "updated",
    "diff",
)

Rows = Callable[[str, Sequence[object]], list[sqlite3.Row]]


def to_entry(row: sqlite3.Row) -> Entry:
    return Entry(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        tags=tuple(json.loads(row["tags"])),
        fingerprints=tuple(json.loads(row["fingerprints"])),
        status=row["status"],
        confidence=float(row["confidence"]),
        seen=int(row["seen"]),
        provenance=json.loads(row["provenance"]),
        created=row["created"],
        updated=row["updated"],
        diff=row["diff"],
    )


def values(entry: Entry) -> dict[str, Any]:
    """Column values for ``entry`` (JSON text for the list and object fields)."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "title": entry.title,
        "body": entry.body,
        "tags": json.dumps(list(entry.tags), ensure_ascii=False),
        "fingerprints": json.dumps(list(entry.fingerprints)),
        "status": entry.status,
        "confidence": entry.confidence,
        "seen": entry.seen,
        "provenance": json.dumps(entry.provenance, ensure_ascii=False, sort_keys=True),
        "created": entry.created,
        "updated": entry.updated,
        "diff": entry.diff,
    }


def insert(conn: sqlite3.Connection, entry: Entry) -> None:
    row = values(entry)
    conn.execute(
        f"INSERT INTO kb_entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [row[column] for column in COLUMNS],
    )


def changed_columns(old: Entry, new: Entry) -> list[str]:
    before, after = values(old), values(new)
    return [column for column in COLUMNS[1:] if before[column] != after[column]]


def update(conn: sqlite3.Connection, entry: Entry, columns: Sequence[str]) -> None:
    """Write ``columns`` of ``entry`` to its row."""
    row = values(entry)
    sets = ", ".join(f"{column} = ?" for column in columns)
    conn.execute(
        f"UPDATE kb_entries SET {sets} WHERE id = ?", [*(row[c] for c in columns), entry.id]
    )


def find(rows: Rows, key: str) -> sqlite3.Row:
    """The row whose id is ``key`` or starts with it (``kb_`` optional, any case)."""
    text = key.strip() if isinstance(key, str) else ""
    short = text[3:] if text[:3].lower() == ID_PREFIX else text
    if not short:
        raise UsageError("a knowledge base id (or the start of one) is required")
    needle = ID_PREFIX + short.upper()
    found = rows(
        "SELECT * FROM kb_entries WHERE id >= ? AND id <= ? ORDER BY id LIMIT 3",
        (needle, needle + "~"),  # '~' sorts after every ULID character
    )
    if not found:
        raise NotFoundError(f"no knowledge base entry {text!r}", id=text)
    if len(found) > 1 and found[0]["id"] != needle:
        shown = ", ".join(str(row["id"]) for row in found[:2]) + (", ..." if len(found) > 2 else "")
        raise UsageError(
            f"knowledge base id {text!r} is ambiguous (matches {shown}); give more of it",
            id=text,
        )
    return found[0]


def where(kind: str | None, status: str | None, tag: str | None) -> tuple[str, list[object]]:
    """A ``WHERE`` clause (or ``""``) and its parameters for the list filters."""
    clauses: list[str] = []
    params: list[object] = []
    if kind is not None:
        clauses.append("kind = ?")
        params.append(check_kind(kind))
    if status is not None:
        clauses.append("status = ?")
        params.append(check_status(status))
    if tag is not None:
        clauses.append("id IN (SELECT entry_id FROM kb_tags WHERE tag = ?)")
        params.append(tag.strip().lower())
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
