"""Storing, reading, changing and removing knowledge base entries."""

from __future__ import annotations

import math
from typing import Any

import pytest

from vigil.errors import NotFoundError, StorageError, UsageError, ValidationError
from vigil.memory import KnowledgeBase
from vigil.storage import Database

from .conftest import START, FixedClock
from .probes import fts_is_consistent, table_counts

FP_A = "0123456789abcdef"
FP_B = "fedcba9876543210"


def test_add_then_get_returns_the_same_normalized_entry(kb: KnowledgeBase) -> None:
    """add() normalizes fields (tags, fingerprints, blank lines) and get() returns exactly that."""
    entry = kb.add(
        "fix",
        "  Pin   redis to 7.2 ",
        body="\n\nRun `make pin`.\n\n",
        tags=["CI", "redis", "ci"],
        fingerprints=[FP_A.upper(), FP_A],
        confidence=0.8,
        provenance={"source": "cli", "author": "ana", "command": "make test"},
    )
    assert entry.id.startswith("kb_") and len(entry.id) == 29
    assert (entry.title, entry.body) == ("Pin redis to 7.2", "Run `make pin`.")
    assert entry.tags == ("ci", "redis")
    assert entry.fingerprints == (FP_A,)
    assert entry.provenance == {
        "source": "cli",
        "author": "ana",
        "events": [],
        "command": "make test",
    }
    assert entry.created == entry.updated == "2026-03-14T09:26:53.589793Z"
    assert (entry.status, entry.seen) == ("active", 0)
    assert kb.get(entry.id) == entry


def test_entry_to_dict_has_every_field(kb: KnowledgeBase) -> None:
    """Entry.to_dict() carries every field, JSON-ready, for --json output."""
    data = kb.add("note", "Standup moved", tags=["team"]).to_dict()
    assert set(data) == {
        "id", "kind", "title", "body", "tags", "fingerprints", "status", "confidence", "seen",
        "provenance", "created", "updated", "diff",
    }  # fmt: skip
    assert data["tags"] == ["team"] and data["provenance"]["source"] == "api"


def test_id_embeds_the_clock_time(kb: KnowledgeBase, clock: FixedClock) -> None:
    """Ids are ULIDs whose time part comes from the injected clock, so they sort by creation."""
    first = kb.add("note", "first")
    clock.advance(1)
    second = kb.add("note", "second")
    assert first.id < second.id
    assert first.id[3:13] != second.id[3:13]


def test_get_accepts_a_unique_prefix_in_any_case(kb: KnowledgeBase, clock: FixedClock) -> None:
    """get() finds an entry from a unique start of its id, with or without kb_, in any case."""
    entry = kb.add("note", "only one")
    assert kb.get(entry.id[:8]) == entry
    assert kb.get(entry.id[3:12].lower()) == entry
    assert kb.get("KB_" + entry.id[3:]) == entry


def test_ambiguous_prefix_is_a_usage_error(kb: KnowledgeBase) -> None:
    """A prefix shared by two entries (same millisecond) is refused, naming the candidates."""
    one = kb.add("note", "one")
    kb.add("note", "two")
    with pytest.raises(UsageError, match="ambiguous"):
        kb.get(one.id[:13])


@pytest.mark.parametrize("key", ["kb_00000000000000000000000000", "nothing-like-an-id"])
def test_unknown_id_is_not_found(kb: KnowledgeBase, key: str) -> None:
    """An id that matches nothing raises NotFoundError that names it."""
    kb.add("note", "something")
    with pytest.raises(NotFoundError, match="no knowledge base entry"):
        kb.get(key)


@pytest.mark.parametrize("key", ["  ", "kb_"])
def test_empty_id_is_a_usage_error(kb: KnowledgeBase, key: str) -> None:
    """An empty id (or a bare kb_) is a usage error, not a lookup of everything."""
    kb.add("note", "something")
    with pytest.raises(UsageError, match="required"):
        kb.get(key)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "recipe"}, "kind 'recipe' is not one of"),
        ({"title": "   "}, "title must not be empty"),
        ({"title": "x" * 301}, "longer than 300"),
        ({"fingerprints": ["abc"]}, "not 16 hexadecimal"),
        ({"fingerprints": "0123456789abcdef"}, "must be a list"),
        ({"tags": ["two words"]}, "one word"),
        ({"tags": [""]}, "must not be empty"),
        ({"confidence": 1.5}, "not between 0 and 1"),
        ({"confidence": math.nan}, "not between 0 and 1"),
        ({"confidence": True}, "must be a number"),
        ({"status": "maybe"}, "status 'maybe'"),
        ({"provenance": {"source": "telepathy"}}, "provenance source"),
        ({"provenance": {"events": "ev_1"}}, "list of event ids"),
        ({"provenance": {"when": object()}}, "not JSON-serializable"),
        ({"body": "bad \udc80 surrogate"}, "not valid Unicode"),
    ],
)
def test_invalid_fields_are_refused_and_nothing_is_stored(
    kb: KnowledgeBase, db: Database, fields: dict[str, Any], message: str
) -> None:
    """Each invalid field raises a ValidationError naming the problem, and nothing is stored."""
    arguments: dict[str, Any] = {"kind": "fix", "title": "A fix"} | fields
    with pytest.raises(ValidationError, match=message):
        kb.add(**arguments)
    assert table_counts(db) == {"kb_entries": 0, "kb_fingerprints": 0, "kb_tags": 0, "kb_stats": 0}


def test_list_filters_and_orders_by_last_update(kb: KnowledgeBase, clock: FixedClock) -> None:
    """list() filters by kind, status and tag, newest update first, and honours the limit."""
    fix = kb.add("fix", "fix one", tags=["ci"])
    clock.advance(1)
    note = kb.add("note", "note one", tags=["ci", "team"])
    clock.advance(1)
    candidate = kb.add("fix", "fix two", status="candidate")
    clock.advance(1)
    kb.update(fix.id, body="touched")
    assert [e.id for e in kb.list()] == [fix.id, candidate.id, note.id]
    assert [e.id for e in kb.list(kind="fix")] == [fix.id, candidate.id]
    assert [e.id for e in kb.list(status="candidate")] == [candidate.id]
    assert [e.id for e in kb.list(tag="CI")] == [fix.id, note.id]
    assert [e.id for e in kb.list(limit=1)] == [fix.id]
    assert kb.count() == 3 and kb.count(kind="fix") == 2 and kb.count(tag="team") == 1


def test_list_rejects_an_unknown_kind(kb: KnowledgeBase) -> None:
    """A filter on a kind that does not exist is an error, not an empty list."""
    with pytest.raises(ValidationError, match="kind"):
        kb.list(kind="fixes")


def test_update_changes_given_fields_and_the_update_time(
    kb: KnowledgeBase, clock: FixedClock
) -> None:
    """update() changes only the fields given and stamps `updated` with the clock."""
    entry = kb.add("fix", "Old title", body="old body", tags=["a"], fingerprints=[FP_A])
    clock.advance(60)
    changed = kb.update(entry.id[:10], title="New title", fingerprints=[FP_B], confidence=0.4)
    assert (changed.title, changed.body, changed.tags) == ("New title", "old body", ("a",))
    assert changed.fingerprints == (FP_B,) and changed.confidence == 0.4
    assert changed.created == entry.created and changed.updated > entry.updated
    assert kb.get(entry.id) == changed
    assert kb.for_fingerprints(FP_A) == [] and kb.for_fingerprints(FP_B) == [changed]


def test_update_without_a_change_keeps_the_update_time(
    kb: KnowledgeBase, clock: FixedClock
) -> None:
    """Setting fields to the values they already have is not a change."""
    entry = kb.add("fix", "Same", body="same")
    clock.advance(60)
    assert kb.update(entry.id, title="Same", body="same") == entry


def test_invalid_update_changes_nothing(kb: KnowledgeBase) -> None:
    """An update with one invalid field leaves the entry as it was."""
    entry = kb.add("fix", "Keep me", tags=["a"])
    with pytest.raises(ValidationError):
        kb.update(entry.id, title="New", confidence=2.0)
    assert kb.get(entry.id) == entry


def test_remove_deletes_the_entry_its_links_and_index_rows(kb: KnowledgeBase, db: Database) -> None:
    """remove() returns the entry and leaves no link, tag or index row behind."""
    keep = kb.add("note", "keep", tags=["t"], fingerprints=[FP_B])
    gone = kb.add("fix", "gone zebra", tags=["t"], fingerprints=[FP_A])
    assert kb.remove(gone.id) == gone
    with pytest.raises(NotFoundError):
        kb.get(gone.id)
    assert table_counts(db) == {"kb_entries": 1, "kb_fingerprints": 1, "kb_tags": 1, "kb_stats": 1}
    assert fts_is_consistent(db)
    assert kb.search("zebra") == [] and kb.list() == [keep]


def test_a_failing_outer_transaction_rolls_back_the_add(kb: KnowledgeBase, db: Database) -> None:
    """An add() inside a caller's transaction that then fails is rolled back with it."""
    with pytest.raises(RuntimeError), db.transaction():
        kb.add("fix", "half done", tags=["x"], fingerprints=[FP_A])
        raise RuntimeError("caller failed")
    assert table_counts(db) == {"kb_entries": 0, "kb_fingerprints": 0, "kb_tags": 0, "kb_stats": 0}
    assert fts_is_consistent(db) and kb.search("half") == []


def test_a_database_failure_mid_write_leaves_nothing_half_done(
    kb: KnowledgeBase, db: Database
) -> None:
    """If the database fails after the entry row is written, the row and its links roll back."""
    kb.add("note", "before", tags=["ok"])
    db.execute(
        "CREATE TEMP TRIGGER boom BEFORE INSERT ON kb_tags WHEN new.tag = 'boom'"
        " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    before = table_counts(db)
    with pytest.raises(StorageError, match="disk on fire"):
        kb.add("fix", "after", tags=["fine", "boom"], fingerprints=[FP_A])
    with pytest.raises(StorageError, match="disk on fire"):
        kb.update(kb.list()[0].id, title="renamed", tags=["boom"])
    assert table_counts(db) == before
    assert fts_is_consistent(db)
    assert [e.title for e in kb.list()] == ["before"] and kb.search("renamed") == []


def test_reopening_applies_no_migration_twice(db: Database, clock: FixedClock) -> None:
    """A second KnowledgeBase on the same file sees the same entries and schema version 3."""
    entry = KnowledgeBase(db, clock).add("note", "persisted")
    again = KnowledgeBase(db, clock)
    assert again.get(entry.id) == entry
    row = db.query_one("SELECT max(version) AS v FROM schema_migrations WHERE namespace = 'kb'")
    assert row is not None and row["v"] == 3


def test_ids_cannot_be_rewritten_in_place(kb: KnowledgeBase, db: Database) -> None:
    """The schema refuses to change an entry's id, which links and exports rely on."""
    entry = kb.add("note", "stable")
    with pytest.raises(Exception, match="never change"):
        db.execute("UPDATE kb_entries SET id = 'kb_X' WHERE id = ?", (entry.id,))
    assert kb.get(entry.id) == entry


def test_created_time_is_the_clock_time(kb: KnowledgeBase) -> None:
    """`created` is the injected clock's time in the sortable UTC format."""
    assert kb.add("note", "t").created == START.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
