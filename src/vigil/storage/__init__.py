"""SQLite storage: one connection per process, WAL, ordered migrations per namespace.

``Redactor`` and the id makers are imported on first use (a read command never needs them, and
the redactor's patterns take longer to compile than such a command takes to run):
``from vigil.storage import Redactor`` works as always.
"""

from __future__ import annotations

from vigil.storage.database import Database, Row
from vigil.storage.migrations import Migration, apply_migrations, sql

TYPE_CHECKING = False
if TYPE_CHECKING:
    from vigil.storage.ids import new_id, new_ulid
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

_LAZY = {"Redactor": "vigil.storage.redact", "new_id": "vigil.storage.ids"}
_LAZY["new_ulid"] = "vigil.storage.ids"


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
