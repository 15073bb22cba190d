"""The change a fix made: bounded unified diffs, and the few lines a diagnosis shows."""

from __future__ import annotations

import subprocess
from pathlib import Path

from vigil.memory.diff import FileChange, counts, file_diff, files, hunks, key_lines, unified

CART_RED = 'def total(subtotal, d):\n    """Apply a discount."""\n    return subtotal * (1 + d)\n'
CART_GREEN = CART_RED.replace("(1 + d)", "(1 - d)")


def test_a_changed_line_is_a_git_style_hunk() -> None:
    """One changed line gives ``--- a/`` / ``+++ b/`` headers and a hunk with its context."""
    text = file_diff(FileChange("shop/cart.py", CART_RED, CART_GREEN))
    assert text.splitlines() == [
        "--- a/shop/cart.py",
        "+++ b/shop/cart.py",
        "@@ -1,3 +1,3 @@",
        " def total(subtotal, d):",
        '     """Apply a discount."""',
        "-    return subtotal * (1 + d)",
        "+    return subtotal * (1 - d)",
    ]
    assert file_diff(FileChange("same.py", CART_RED, CART_RED)) == ""


def test_added_and_deleted_files_use_dev_null() -> None:
    """A file that did not exist on one side is diffed against /dev/null."""
    added = file_diff(FileChange("conf/app.json", None, '{"ok": true}\n'))
    deleted = file_diff(FileChange("old.py", "x = 1\n", None))
    assert added.splitlines()[:2] == ["--- /dev/null", "+++ b/conf/app.json"]
    assert deleted.splitlines()[:2] == ["--- a/old.py", "+++ /dev/null"]
    assert files(added + "\n" + deleted) == ["conf/app.json", "old.py"]


def test_the_diff_is_bounded_and_says_what_it_left_out() -> None:
    """A huge change is cut (marked), and files past the budget are named, not shown."""
    big = FileChange("big.py", "", "".join(f"line {i} " * 20 + "\n" for i in range(5000)))
    small = [FileChange(f"f{i}.py", "a\n", "b\n") for i in range(3)]
    text = unified([big, *small], max_chars=2000)
    assert len(text) <= 2200
    assert "\\ [truncated]" in text
    assert text.splitlines()[-1] == "\\ [not shown] f0.py, f1.py, f2.py"
    assert files(text) == ["big.py"]


def test_key_lines_are_the_changed_lines_of_the_first_hunk() -> None:
    """The diagnosis shows the removed and added lines of the most relevant file, unindented."""
    text = unified(
        [
            FileChange("shop/cart.py", CART_RED, CART_GREEN),
            FileChange("README.md", None, "more docs\n"),
        ]
    )
    key = key_lines(text)
    assert key is not None
    assert key.path == "shop/cart.py"
    assert key.lines == ("- return subtotal * (1 + d)", "+ return subtotal * (1 - d)")
    assert counts(text) == {"shop/cart.py": (1, 1), "README.md": (1, 0)}


def test_a_removed_line_that_looks_like_a_header_stays_a_line() -> None:
    """Hunks are read by their line counts, so removing ``-- comment`` is not a file header."""
    text = file_diff(FileChange("q.sql", "-- old comment\nSELECT 1;\n", "SELECT 1;\n"))
    assert "--- old comment" in text
    (hunk,) = hunks(text)
    assert hunk.path == "q.sql" and hunk.lines[0] == "--- old comment"
    assert key_lines(text) is not None and key_lines(text).lines == ("- -- old comment",)  # type: ignore[union-attr]


def test_key_lines_keep_both_sides_when_many_lines_changed() -> None:
    """With many lines changed, the few shown include removed and added ones."""
    old = "".join(f"a{i}\n" for i in range(10))
    new = "".join(f"b{i}\n" for i in range(10))
    key = key_lines(file_diff(FileChange("m.py", old, new)))
    assert key is not None
    assert key.lines == ("- a0", "- a1", "+ b0", "+ b1")


def test_a_diff_written_by_git_is_read(tmp_path: Path) -> None:
    """Hunks and key lines come out of real ``git diff`` output too (hand-imported fixes)."""
    (tmp_path / "cart.py").write_text(CART_RED)
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "red"], cwd=tmp_path, check=True)
    (tmp_path / "cart.py").write_text(CART_GREEN)
    out = subprocess.run(
        ["git", "diff"], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout
    key = key_lines(out)
    assert key is not None and key.path == "cart.py"
    assert key.lines == ("- return subtotal * (1 + d)", "+ return subtotal * (1 - d)")
