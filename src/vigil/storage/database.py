"""The state database: a SQLite file in WAL mode shared by the daemon and the CLI.

Every process opens its own :class:`Database`. Writes go through :meth:`Database.transaction`
(``BEGIN IMMEDIATE``, so writers queue on SQLite's lock instead of failing half-way) and either
commit whole or roll back whole: nothing half-done is ever stored. Async code calls
:meth:`Database.call`, which runs the work on the database's own single thread, so the event loop
never blocks on disk and the connection is only ever used from one thread at a time.
"""

from __future__ import annotations

import os
import sqlite3
from _thread import RLock  # threading.RLock itself, without importing threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vigil.errors import StorageError

TYPE_CHECKING = False  # spelt out: short-lived readers never import ``typing``
if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor
    from typing import Any, ParamSpec, TypeVar

    P = ParamSpec("P")
    T = TypeVar("T")

Row = sqlite3.Row


def _translate(exc: sqlite3.Error, path: Path) -> StorageError:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        hint = "the database or its directory is read-only"
    elif "full" in text:
        hint = "the disk is full"
    elif "locked" in text or "busy" in text:
        hint = "the database stayed locked by another process"
    else:
        hint = text
    return StorageError(f"state database {path}: {hint}", path=str(path), sqlite=text)


_ENVIRONMENTAL = ("full", "readonly", "read-only", "disk i/o", "locked", "busy", "unable to open")


def _environmental(exc: sqlite3.Error) -> bool:
    """Whether an SQLite error comes from the environment (disk, permissions, locks)."""
    text = str(exc).lower()
    return any(word in text for word in _ENVIRONMENTAL)


class Database:
    """One SQLite connection with Vigil's pragmas and transaction discipline."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self.read_only = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._connect(busy_timeout_ms)
        except sqlite3.OperationalError as exc:
            if not (_environmental(exc) and path.exists()):
                raise _translate(exc, path) from exc
            self._conn = self._connect_read_only(exc)
        except sqlite3.Error as exc:
            raise _translate(exc, path) from exc
        except OSError as exc:
            if not path.exists():
                raise StorageError(
                    f"state database {path}: {exc.strerror}", path=str(path)
                ) from exc
            self._conn = self._connect_read_only(exc)
        self._lock = RLock()
        self._executor: ThreadPoolExecutor | None = None
        self._depth = 0

    def _connect(self, busy_timeout_ms: int) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _connect_read_only(self, cause: Exception) -> sqlite3.Connection:
        """Degraded mode: the file exists but cannot be opened for writing (a read-only disk).

        Reads keep working; every write fails with a :class:`StorageError`. On a filesystem
        mounted read-only nobody can change the file, so SQLite may treat it as immutable
        (which a WAL database on read-only media needs); elsewhere it is opened ``mode=ro``.
        """
        try:
            frozen = bool(os.statvfs(self.path).f_flag & os.ST_RDONLY)
            options = "mode=ro&immutable=1" if frozen else "mode=ro"
            conn = sqlite3.connect(
                f"{self.path.absolute().as_uri()}?{options}",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(
                f"state database {self.path}: cannot be opened even read-only ({exc})",
                path=str(self.path),
            ) from cause
        self.read_only = True
        return conn

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: commits on success, rolls back on any exception.

        Nested use joins the outer transaction.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc
            self._depth = 1
            try:
                yield self._conn
            except sqlite3.OperationalError as exc:
                self._depth = 0
                self._conn.rollback()
                if _environmental(exc):  # disk full, read-only, I/O: the store's fault, not ours
                    raise _translate(exc, self.path) from exc
                raise
            except BaseException:
                self._depth = 0
                self._conn.rollback()
                raise
            self._depth = 0
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.rollback()
                raise _translate(exc, self.path) from exc

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        """Run one statement outside an explicit transaction (reads, single autocommit writes)."""
        with self._lock:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.OperationalError as exc:
                raise _translate(exc, self.path) from exc

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        """All rows of a read."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                raise _translate(exc, self.path) from exc

    def query_one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        with self._lock:
            try:
                row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
            except sqlite3.OperationalError as exc:
                raise _translate(exc, self.path) from exc
            return row

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking database work on this database's own thread."""
        import asyncio  # here, not at the top: synchronous CLI commands never need it
        from concurrent.futures import ThreadPoolExecutor

        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-db")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        """Close the connection and stop the database thread."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
