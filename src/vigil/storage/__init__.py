"""SQLite storage: one connection per process, WAL, ordered migrations per namespace."""

from vigil.storage.database import Database, Row
from vigil.storage.ids import new_id, new_ulid
from vigil.storage.migrations import Migration, apply_migrations, sql
from vigil.storage.redact import Redactor

__all__ = [
    "Database",
    "Migration",
    "Redactor",
    "Row",
    "apply_migrations",
    "new_id",
    "new_ulid",
    "sql",
]
