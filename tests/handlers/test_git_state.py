"""git facts on real repositories: files in new folders are tracked one by one, bounded, and the
content of a change is read back by blob id."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vigil.sources import git as gitsource
from vigil.sources.git import GitChangeInspector, git_state, hash_blob


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "load.py").write_text("import json\njson.load(open('conf/app.json'))\n")
    (root / ".gitignore").write_text("build/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "initial")
    return root


def test_a_file_in_a_new_folder_is_a_dirty_file_of_its_own(repo: Path) -> None:
    """``conf/app.json`` in an untracked folder is listed with its blob id, not as ``conf/``,
    so a change to it changes the tree."""
    (repo / "conf").mkdir()
    (repo / "conf" / "app.json").write_text("{bad\n")
    red = git_state(repo)
    assert red is not None
    assert red["dirty"] == ["conf/app.json"]
    assert red["blobs"] == {"conf/app.json": hash_blob(b"{bad\n")}
    (repo / "conf" / "app.json").write_text('{"ok": true}\n')
    green = git_state(repo)
    assert green is not None and green["tree"] != red["tree"]


def test_gitignored_files_are_not_tracked(repo: Path) -> None:
    """Files git ignores never become dirty files."""
    (repo / "build").mkdir()
    (repo / "build" / "out.o").write_bytes(b"\x7fELF")
    state = git_state(repo)
    assert state is not None and state["dirty"] == []


def test_the_number_of_files_is_capped_with_modified_tracked_files_first(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cap, modified tracked files are kept before new ones, and the count still
    changes the tree."""
    monkeypatch.setattr(gitsource, "MAX_DIRTY", 3)
    (repo / "load.py").write_text("changed = True\n")
    (repo / "many").mkdir()
    for i in range(5):
        (repo / "many" / f"f{i}.txt").write_text(str(i))
    state = git_state(repo)
    assert state is not None
    assert state["dirty"] == ["load.py", "many/f0.txt", "many/f1.txt"]
    (repo / "many" / "f9.txt").write_text("9")
    again = git_state(repo)
    assert again is not None and again["tree"] != state["tree"]


def test_hashing_reads_a_bounded_number_of_bytes(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the byte budget a file is known by size and time, not read."""
    monkeypatch.setattr(gitsource, "MAX_HASHED_TOTAL", 10)
    (repo / "a.txt").write_text("12345678")
    (repo / "b.txt").write_text("12345678")
    state = git_state(repo)
    assert state is not None
    assert state["blobs"]["a.txt"] == hash_blob(b"12345678")
    assert state["blobs"]["b.txt"].startswith("big:")


def test_changes_carry_each_side_s_blob_and_contents_reads_them(repo: Path) -> None:
    """A change knows the blob id on both sides; git's store gives committed content, the
    working tree gives the rest when its content still has that id."""
    before = git_state(repo)
    (repo / "load.py").write_text("print('fixed')\n")
    (repo / "new.py").write_text("x = 1\n")
    after = git_state(repo)
    assert before is not None and after is not None
    inspector = GitChangeInspector()
    changed = {f.path: f for f in inspector.changes(before, after).files}
    assert changed["new.py"].before == "-"
    assert changed["new.py"].after == hash_blob(b"x = 1\n")
    committed = git(repo, "rev-parse", "HEAD:load.py").strip()
    assert changed["load.py"].before == committed
    wanted: dict[str, str | None] = {
        committed: None,
        hash_blob(b"x = 1\n"): "new.py",
        hash_blob(b"gone\n"): "new.py",  # the file no longer has this content
        "-": None,
    }
    found = inspector.contents(str(repo), wanted)
    assert found == {
        committed: b"import json\njson.load(open('conf/app.json'))\n",
        hash_blob(b"x = 1\n"): b"x = 1\n",
    }
