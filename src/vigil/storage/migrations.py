"""Schema migrations: per namespace, an ordered list of plain functions and a table of applied ones.

Each layer that owns tables (``events``, ``kb``, ``triage``...) declares its own list; the list
only ever grows. A database whose namespace is at a version this code does not know was written by
a newer Vigil and is refused rather than misread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from vigil.errors import SchemaError
from vigil.storage.database import Database

Migration = Callable[[sqlite3.Connection], None]

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    namespace TEXT NOT NULL,
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (namespace, version)
)
"""


def sql(*statements: str) -> Migration:
    """A migration made of SQL statements, run in order inside the migration's transaction."""

    def migrate(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return migrate


def apply_migrations(db: Database, namespace: str, steps: Sequence[Migration]) -> int:
    """Bring ``namespace`` up to ``len(steps)``; returns how many steps ran."""
    current = _version(db, namespace)
    if current > len(steps):
        raise SchemaError(
            f"state database {db.path} has {namespace} schema v{current}, newer than this "
            f"Vigil (v{len(steps)}); upgrade Vigil",
            namespace=namespace,
        )
    if current == len(steps):
        return 0
    ran = 0
    with db.transaction() as conn:
        conn.execute(_BOOKKEEPING)
        current = _version_in(conn, namespace)  # another process may have migrated meanwhile
        for version in range(current + 1, len(steps) + 1):
            steps[version - 1](conn)
            conn.execute(
                "INSERT INTO schema_migrations (namespace, version) VALUES (?, ?)",
                (namespace, version),
            )
            ran += 1
    return ran


def _version(db: Database, namespace: str) -> int:
    exists = db.query_one(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    )
    if exists is None:
        return 0
    row = db.query_one(
        "SELECT MAX(version) AS v FROM schema_migrations WHERE namespace = ?", (namespace,)
    )
    return int(row["v"]) if row is not None and row["v"] is not None else 0


def _version_in(conn: sqlite3.Connection, namespace: str) -> int:
    row = conn.execute(
        "SELECT MAX(version) FROM schema_migrations WHERE namespace = ?", (namespace,)
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
