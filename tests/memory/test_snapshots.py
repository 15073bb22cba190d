"""Snapshots of a failing run's dirty files: captured verified and bounded, stored redacted and
once per content, pruned."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vigil.memory import snapshots
from vigil.memory.snapshots import SnapshotStore
from vigil.sources.git import dirty_contents, git_state, hash_blob
from vigil.storage import Database, Redactor

from .conftest import FixedClock

SECRET = "sk-live-9f8e7d6c5b4a39281706f5e4"


@pytest.fixture
def store(db: Database, clock: FixedClock) -> SnapshotStore:
    return SnapshotStore(db, clock, redactor=Redactor({"PAYMENT_KEY": SECRET}))


def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    (root / "tracked.py").write_text("x = 1\n")
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    return root


def test_kept_text_is_redacted_and_found_by_blob_id(store: SnapshotStore) -> None:
    """What is kept comes back by blob id, with secrets replaced by markers."""
    text = f'API_KEY = "{SECRET}"\nrate = 0.1\n'
    blob = hash_blob(text.encode())
    assert store.keep({blob: text}) == 1
    kept = store.get([blob, "0" * 40])
    assert list(kept) == [blob]
    assert SECRET not in kept[blob] and "rate = 0.1" in kept[blob]
    assert store.known([blob, "1" * 40]) == {blob}


def test_the_same_content_is_stored_once(store: SnapshotStore, db: Database) -> None:
    """The same blob kept by many failing runs is one row."""
    blob = hash_blob(b"y = 2\n")
    assert store.keep({blob: "y = 2\n"}) == 1
    assert store.keep({blob: "y = 2\n"}, seen=[blob]) == 0
    row = db.query_one("SELECT COUNT(*) FROM file_snapshots")
    assert row is not None and row[0] == 1


def test_least_recently_used_snapshots_are_pruned_past_the_cap(
    store: SnapshotStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cap the least recently used go first; a snapshot seen again is kept."""
    monkeypatch.setattr(snapshots, "MAX_BLOBS", 3)
    blobs = [hash_blob(f"v{i}\n".encode()) for i in range(4)]
    for i, blob in enumerate(blobs[:3]):
        store.keep({blob: f"v{i}\n"})
        clock.advance(7200)
    store.keep({}, seen=[blobs[0]])  # the oldest was seen again: now the freshest
    clock.advance(7200)
    store.keep({blobs[3]: "v3\n"})
    assert store.known(blobs) == {blobs[0], blobs[2], blobs[3]}


def test_snapshots_unused_for_a_month_are_forgotten(
    store: SnapshotStore, clock: FixedClock
) -> None:
    """A snapshot not used for more than KEEP_DAYS days is pruned at the next keep."""
    old, new = hash_blob(b"old\n"), hash_blob(b"new\n")
    store.keep({old: "old\n"})
    clock.advance(86400 * (snapshots.KEEP_DAYS + 1))
    store.keep({new: "new\n"})
    assert store.known([old, new]) == {new}


def test_dirty_contents_keep_only_verified_text_within_bounds(tmp_path: Path) -> None:
    """Captured: text whose blob id is the recorded one; skipped: binary, edited since, too big,
    already kept, and anything past the run's budget."""
    root = repo(tmp_path)
    (root / "tracked.py").write_text("x = 2\n")
    (root / "new.txt").write_text("hello\n")
    (root / "image.bin").write_bytes(b"\x89PNG\x00\x01\x02")
    (root / "edited.py").write_text("before\n")
    (root / "huge.py").write_text("z = 0\n" * 100_000)
    (root / "known.py").write_text("kept already\n")
    state = git_state(root)
    assert state is not None
    (root / "edited.py").write_text("after the run\n")
    blobs = state["blobs"]
    found = dirty_contents(state, skip=[blobs["known.py"]], max_file=64 * 1024)
    assert found == {blobs["tracked.py"]: "x = 2\n", blobs["new.txt"]: "hello\n"}
    assert len(dirty_contents(state, max_total=8)) == 1  # the smallest file only


def test_dirty_contents_of_a_state_without_files_is_empty(tmp_path: Path) -> None:
    """A clean tree, or no git at all, has nothing to keep."""
    state = git_state(repo(tmp_path))
    assert state is not None and dirty_contents(state) == {}
    assert dirty_contents({}) == {}
