"""Storage: ids, migrations, transactions and error translation on real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from vigil.clock import isoformat, parse_iso, parse_since
from vigil.errors import SchemaError, StorageError, UsageError
from vigil.storage import Database, apply_migrations, new_id, sql
from vigil.storage.ids import _ALPHABET, _encode, new_ulid
from vigil.testing import FakeClock


def test_ulids_sort_by_time_and_are_unique() -> None:
    """Ids made later sort later, and a burst of ids never repeats."""
    early, late = new_ulid(1_000), new_ulid(2_000)
    assert early < late
    burst = {new_id("ev") for _ in range(20_000)}
    assert len(burst) == 20_000
    assert all(len(i) == 29 and set(i[3:]) <= set(_ALPHABET) for i in list(burst)[:100])


def test_ulid_time_part_matches_the_reference_encoding() -> None:
    """The fast encoder writes the millisecond stamp exactly as the reference encoder does."""
    stamp = 1_764_000_000_123
    assert new_ulid(stamp)[:10] == _encode(stamp, 10)


def test_migrations_run_once_and_in_order(tmp_path: Path) -> None:
    """Each step runs once; reopening runs nothing; a later step sees the earlier ones."""
    db = Database(tmp_path / "s.db")
    steps = [sql("CREATE TABLE t (x INTEGER)"), sql("INSERT INTO t VALUES (1)")]
    assert apply_migrations(db, "demo", steps) == 2
    assert apply_migrations(db, "demo", steps) == 0
    steps.append(sql("INSERT INTO t VALUES (2)"))
    assert apply_migrations(db, "demo", steps) == 1
    assert [r[0] for r in db.query("SELECT x FROM t ORDER BY x")] == [1, 2]
    db.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database migrated by a newer Vigil is refused instead of misread."""
    db = Database(tmp_path / "s.db")
    apply_migrations(db, "demo", [sql("CREATE TABLE a (x)"), sql("CREATE TABLE b (x)")])
    with pytest.raises(SchemaError, match="newer than this"):
        apply_migrations(db, "demo", [sql("CREATE TABLE a (x)")])
    db.close()


def test_failed_migration_changes_nothing(tmp_path: Path) -> None:
    """A migration step that fails rolls back every step of that run."""
    db = Database(tmp_path / "s.db")
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(db, "demo", [sql("CREATE TABLE ok (x)"), sql("NOT SQL")])
    assert db.query_one("SELECT name FROM sqlite_master WHERE name = 'ok'") is None
    db.close()


def test_transaction_rolls_back_on_error_and_nests(tmp_path: Path) -> None:
    """An exception inside a (nested) transaction leaves nothing of it behind."""
    db = Database(tmp_path / "s.db")
    db.execute("CREATE TABLE t (x)")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        with db.transaction() as inner:
            inner.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("boom")
    assert db.query("SELECT * FROM t") == []
    db.close()


def test_unusable_path_is_a_storage_error(tmp_path: Path) -> None:
    """A database path under a regular file fails with a StorageError, not an OSError."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError):
        Database(blocker / "sub" / "s.db")


def test_time_parsing() -> None:
    """Relative and absolute times parse; nonsense is a UsageError."""
    clock = FakeClock()
    now = clock.now()
    assert (now - parse_since("2h", now)).total_seconds() == 7200
    assert (now - parse_since("3 days ago", now)).days == 3
    assert isoformat(parse_iso("2026-01-02T03:04:05Z")) == "2026-01-02T03:04:05.000000Z"
    assert parse_since("today", now).hour == 0
    with pytest.raises(UsageError):
        parse_since("soonish", now)
