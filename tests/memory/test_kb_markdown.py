"""Markdown export and import: the knowledge base kept as files in git."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigil.errors import NotFoundError, StorageError, ValidationError
from vigil.memory import Entry, KnowledgeBase
from vigil.storage import Database

from .conftest import FixedClock
from .probes import fts_is_consistent, table_counts

FP = "a1b2c3d4e5f60718"
OTHER_FP = "0123456789abcdef"
CART_DIFF = (
    "--- a/shop/cart.py\n+++ b/shop/cart.py\n@@ -3,3 +3,3 @@\n def total(subtotal, d):\n"
    "-    return subtotal * (1 + d)\n+    return subtotal * (1 - d)\n # ``` a fence in the code"
)

GOOD = """---
kind: fix
title: Fix the flaky test
tags: [ci, flaky]
---

Quarantine it first.
"""


def fill(kb: KnowledgeBase, clock: FixedClock) -> None:
    kb.add(
        "fix",
        "Pin redis: 7.2 — «stable»",
        body="# Steps\n\n1. Edit `ci.yml`\n2. ---\n\n```\ncode: block\n```",
        tags=["ci", "redis"],
        fingerprints=[FP],
        confidence=0.7375,
        provenance={"source": "cli", "author": "ana", "files": ["ci.yml"], "nested": {"a": [1]}},
        seen=3,
    )
    clock.advance(1.5)
    kb.add("decision", "Use SQLite WAL", body="Because one writer.")
    kb.add("note", "Empty body note")
    learned = kb.record_candidate_fix(
        OTHER_FP,
        "Learned",
        "It went green.",
        {"events": ["ev_1"], "files": ["shop/cart.py"]},
        diff=CART_DIFF,
    )
    assert learned is not None
    kb.reject(learned.id, by="bo")


def new_kb(tmp_path: Path, name: str, clock: FixedClock) -> tuple[Database, KnowledgeBase]:
    db = Database(tmp_path / name / "state.db")
    return db, KnowledgeBase(db, clock)


def test_export_then_import_into_an_empty_kb_gives_identical_entries(
    kb: KnowledgeBase, clock: FixedClock, tmp_path: Path
) -> None:
    """Every field of every entry survives a round trip through Markdown files."""
    fill(kb, clock)
    files = kb.export(tmp_path / "export")
    assert len(files) == 4
    clock.advance(3600)
    other_db, other = new_kb(tmp_path, "other", clock)
    try:
        report = other.import_(tmp_path / "export")
        assert len(report.created) == 4 and report.updated == ()

        def by_id(base: KnowledgeBase) -> list[Entry]:
            return sorted(base.list(limit=None), key=lambda entry: entry.id)

        assert by_id(other) == by_id(kb)
        assert fts_is_consistent(other_db)
        assert [h.entry.title for h in other.search("wal")] == ["Use SQLite WAL"]
    finally:
        other_db.close()


def test_export_writes_one_readable_file_per_entry(
    kb: KnowledgeBase, clock: FixedClock, tmp_path: Path
) -> None:
    """Files are <kind>/<slug>-<shortid>.md with one `key: <JSON>` line per field, then the body."""
    entry = kb.add("fix", "Pin redis: 7.2!", body="Body text.", tags=["ci"])
    (path,) = kb.export(tmp_path)
    assert path == tmp_path / "fix" / f"pin-redis-7-2-{entry.id[-8:].lower()}.md"
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "---" and lines[12] == "---"
    front = dict(line.split(": ", 1) for line in lines[1:12])
    assert list(front) == [
        "id", "kind", "title", "tags", "fingerprints", "status", "confidence", "seen",
        "provenance", "created", "updated",
    ]  # fmt: skip
    fields = {key: value for key, value in entry.to_dict().items() if key not in ("body", "diff")}
    assert {key: json.loads(value) for key, value in front.items()} == fields
    assert json.loads(front["title"]) == "Pin redis: 7.2!"
    assert lines[13:] == ["", "Body text.", ""]


def test_reexport_after_a_rename_leaves_one_file_per_entry(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """When an entry's title or kind changes, its old file is replaced, not duplicated."""
    entry = kb.add("note", "Old title")
    (old,) = kb.export(tmp_path)
    (tmp_path / "note" / "hand-written.md").write_text(GOOD, encoding="utf-8")
    kb.update(entry.id, title="New title", kind="decision")
    (new,) = kb.export(tmp_path)
    assert not old.exists() and new.exists() and new.parent.name == "decision"
    assert (tmp_path / "note" / "hand-written.md").exists()


def test_hand_written_front_matter_is_accepted(kb: KnowledgeBase, tmp_path: Path) -> None:
    """Unquoted titles, flow lists, comments, no id and no times are fine in a hand-written file."""
    path = tmp_path / "flaky.md"
    path.write_text(
        "---\n# written by hand\nkind: fix\ntitle: 404 handler: retry\ntags: [ci, 'flaky']\n"
        "fingerprints: A1B2C3D4E5F60718\nconfidence: .8\nstatus: candidate\n---\nBody\n",
        encoding="utf-8",
    )
    report = kb.import_([path])
    entry = kb.get(report.created[0])
    assert (entry.title, entry.tags, entry.fingerprints) == (
        "404 handler: retry",
        ("ci", "flaky"),
        (FP,),
    )
    assert (entry.confidence, entry.status, entry.body) == (0.8, "candidate", "Body")
    assert entry.provenance == {
        "source": "import",
        "author": None,
        "events": [],
        "imported_from": str(path.resolve()),
    }


def test_import_updates_entries_by_id(kb: KnowledgeBase, clock: FixedClock, tmp_path: Path) -> None:
    """A file whose id exists updates that entry (stamped now); the count does not change."""
    entry = kb.add("fix", "Original", tags=["a"])
    (path,) = kb.export(tmp_path)
    clock.advance(10)
    text = path.read_text(encoding="utf-8").replace('"Original"', '"Edited in git"')
    path.write_text(text, encoding="utf-8")
    report = kb.import_(tmp_path)
    assert report.updated == (entry.id,) and report.created == report.unchanged == ()
    assert kb.count() == 1 and kb.get(entry.id).title == "Edited in git"
    assert kb.get(entry.id).updated > entry.updated  # the file kept its old `updated` line
    assert kb.search("edited")[0].entry.id == entry.id and kb.search("original") == []


def test_files_without_an_id_are_imported_once(kb: KnowledgeBase, tmp_path: Path) -> None:
    """Importing the same hand-written folder twice stores its entries once (idempotent)."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "kb" / "b.md").write_text(GOOD.replace("flaky test", "slow build"), "utf-8")
    first = kb.import_(tmp_path / "kb")
    second = kb.import_(tmp_path / "kb")
    assert len(first.created) == 2 and second.created == second.updated == ()
    assert sorted(second.unchanged) == sorted(first.created) and kb.count() == 2


def test_an_edited_file_without_an_id_updates_its_entry(
    kb: KnowledgeBase, clock: FixedClock, tmp_path: Path
) -> None:
    """Editing an id-less file, even its title, updates the entry it created instead of adding."""
    path = tmp_path / "a.md"
    path.write_text(GOOD, encoding="utf-8")
    (entry_id,) = kb.import_(tmp_path).created
    clock.advance(5)
    path.write_text(GOOD.replace("Quarantine it first.", "Quarantine, then fix."), "utf-8")
    assert kb.import_(tmp_path).updated == (entry_id,)
    path.write_text(GOOD.replace("Fix the flaky test", "Fix flaky tests for good"), "utf-8")
    assert kb.import_(tmp_path).updated == (entry_id,)
    entry = kb.get(entry_id)
    assert (entry.title, entry.body) == ("Fix flaky tests for good", "Quarantine it first.")
    assert kb.count() == 1


def test_an_id_less_entry_keeps_its_id_when_the_folder_moves(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """The id of an id-less file comes from its kind and title, so a moved copy is the same entry
    (and two people importing the same file get the same id)."""
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.md").write_text(GOOD, encoding="utf-8")
    (entry_id,) = kb.import_(tmp_path / "one").created
    (tmp_path / "one").rename(tmp_path / "two")
    moved = kb.import_(tmp_path / "two")
    assert moved.created == () and moved.updated == (entry_id,) and kb.count() == 1
    assert kb.get(entry_id).provenance["imported_from"] == str(tmp_path / "two" / "a.md")


def test_two_id_less_files_with_one_title_are_refused(
    kb: KnowledgeBase, db: Database, tmp_path: Path
) -> None:
    """Two id-less files of the same kind and title would be one entry: refused, naming both."""
    (tmp_path / "a.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.md").write_text(GOOD.replace("Quarantine", "Skip"), encoding="utf-8")
    before = table_counts(db)
    with pytest.raises(ValidationError, match=r"b\.md: same entry as .*a\.md"):
        kb.import_(tmp_path)
    assert table_counts(db) == before


def test_a_fix_keeps_its_diff_through_export_and_import(
    kb: KnowledgeBase, clock: FixedClock, tmp_path: Path
) -> None:
    """A learned fix's diff is written as a fenced diff block after the body and read back."""
    learned = kb.record_candidate_fix(
        FP, "Fixed by changing shop/cart.py", "Body.", {"files": ["shop/cart.py"]}, diff=CART_DIFF
    )
    assert learned is not None and learned.diff == CART_DIFF
    (path,) = kb.export(tmp_path / "kb")
    text = path.read_text(encoding="utf-8")
    assert "\n<!-- vigil:diff -->\n````diff\n--- a/shop/cart.py\n" in text
    assert text.endswith("# ``` a fence in the code\n````\n")
    db = Database(tmp_path / "other.db")
    try:
        other = KnowledgeBase(db, clock)
        other.import_(tmp_path / "kb")
        assert other.get(learned.id) == learned
    finally:
        db.close()


BAD_FILES = {
    "unknown key": ("---\nkind: fix\ntitel: Typo\n---\n", 3, "unknown key 'titel'"),
    "missing title": ("---\nkind: fix\n---\n", 1, "no 'title'"),
    "missing kind": ("---\ntitle: T\n---\n", 1, "no 'kind'"),
    "bad kind": ("---\nkind: recipe\ntitle: T\n---\n", 2, "kind 'recipe'"),
    "bad json": ('---\nkind: fix\ntitle: "unterminated\n---\n', 3, "not valid JSON"),
    "bad provenance": ("---\nkind: fix\ntitle: T\nprovenance: {source: cli}\n---\n", 4, "JSON"),
    "bad confidence": ("---\nkind: fix\ntitle: T\nconfidence: 7\n---\n", 4, "not between 0 and 1"),
    "bad fingerprint": ("---\nkind: fix\ntitle: T\nfingerprints: [zz]\n---\n", 4, "hexadecimal"),
    "bad id": ('---\nid: "kb_nope"\nkind: fix\ntitle: T\n---\n', 2, "not a knowledge base id"),
    "bad time": ('---\nkind: fix\ntitle: T\ncreated: "yesterday-ish"\n---\n', 4, "valid time"),
    "no front matter": ("# Just markdown\n", 1, "starting with a '---'"),
    "unclosed": ("---\nkind: fix\ntitle: T\n", 1, "not closed"),
    "twice": ("---\nkind: fix\ntitle: T\ntitle: U\n---\n", 4, "appears twice"),
    "diff unfenced": ("---\nkind: fix\ntitle: T\n---\nB\n<!-- vigil:diff -->\n-x\n", 6, "block"),
    "diff unclosed": (
        "---\nkind: fix\ntitle: T\n---\n<!-- vigil:diff -->\n```diff\n-x\n",
        6,
        "not closed",
    ),
    "not key value": ("---\nkind: fix\ntitle: T\njust words\n---\n", 4, "key: value"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_one_bad_file_rejects_the_whole_import(
    kb: KnowledgeBase, db: Database, tmp_path: Path, case: str
) -> None:
    """A directory with one bad file stores nothing, and the error names that file and line."""
    kb.add("note", "already here")
    content, line, problem = BAD_FILES[case]
    (tmp_path / "kb" / "fix").mkdir(parents=True)
    for i in range(3):
        (tmp_path / "kb" / "fix" / f"good-{i}.md").write_text(GOOD, encoding="utf-8")
    bad = tmp_path / "kb" / "fix" / "bad.md"
    bad.write_text(content, encoding="utf-8")
    before = table_counts(db)
    with pytest.raises(ValidationError) as caught:
        kb.import_(tmp_path / "kb")
    assert str(caught.value).startswith(f"{bad}:{line}: ")
    assert problem in str(caught.value) and "nothing was imported" in str(caught.value)
    assert table_counts(db) == before


def test_non_utf8_file_is_named_with_its_line(
    kb: KnowledgeBase, db: Database, tmp_path: Path
) -> None:
    """A file that is not UTF-8 rejects the import, naming the file and the line of the bad byte."""
    (tmp_path / "good.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "latin1.md").write_bytes("---\nkind: fix\ntitle: Café\n---\n".encode("latin-1"))
    with pytest.raises(ValidationError, match=r"latin1\.md:3: not valid UTF-8"):
        kb.import_(tmp_path)
    assert kb.count() == 0


def test_two_files_with_one_id_are_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    """The same id in two files is an error naming both, and nothing is stored."""
    entry = kb.add("note", "twin")
    (path,) = kb.export(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "copy.md").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    kb.remove(entry.id)
    with pytest.raises(ValidationError, match="is also the id of"):
        kb.import_([tmp_path / "a", tmp_path / "b"])
    assert kb.count() == 0


def test_a_missing_path_is_not_found(kb: KnowledgeBase, tmp_path: Path) -> None:
    """Importing a path that does not exist raises NotFoundError naming it."""
    with pytest.raises(NotFoundError, match=r"nowhere\.md"):
        kb.import_([tmp_path / "nowhere.md"])


def test_a_database_failure_during_import_stores_nothing(
    kb: KnowledgeBase, db: Database, tmp_path: Path
) -> None:
    """If the database fails on the third of five files, none of the five is stored."""
    for i in range(5):
        title = "boom" if i == 2 else f"entry {i}"
        (tmp_path / f"{i}.md").write_text(
            f"---\nkind: note\ntitle: {title}\n---\n", encoding="utf-8"
        )
    db.execute(
        "CREATE TEMP TRIGGER boom BEFORE INSERT ON kb_entries WHEN new.title = 'boom'"
        " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    with pytest.raises(StorageError, match="disk on fire"):
        kb.import_(tmp_path)
    assert table_counts(db) == {"kb_entries": 0, "kb_fingerprints": 0, "kb_tags": 0, "kb_stats": 0}
    assert fts_is_consistent(db)
