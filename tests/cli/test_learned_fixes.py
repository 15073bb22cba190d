"""Learned fixes through real ``vigil run`` processes in real git repositories: files in new
folders, the change shown at the next failure, ``kb show`` and Markdown round trips."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from tests.cli.helpers import events, vigil
from vigil.cli.render import render_diagnosis

LOADER = "import json\n\nwith open('conf/app.json') as f:\n    json.load(f)\nprint('config ok')\n"
CART_OK = "def total(subtotal, d):\n    return subtotal * (1 - d)\n"
CART_BROKEN = CART_OK.replace("(1 - d)", "(1 + d)")
TEST = "from shop.cart import total\n\n\ndef test_discount():\n    assert total(100, 0.1) == 90\n"


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "proj"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "initial")
    return repo


def test_a_file_in_an_untracked_folder_is_learned_not_flaky(home: Path, tmp_path: Path) -> None:
    """``mkdir conf; echo '{bad' > conf/app.json``: red, fixed, green, broken again. The fix is
    learned from conf/app.json, the failure is not called flaky, and the suspect is the file,
    not the bare folder."""
    repo = project(tmp_path, {"load.py": LOADER})
    (repo / "conf").mkdir()
    (repo / "conf" / "app.json").write_text("{bad\n")
    cmd = ["run", "--", sys.executable, "load.py"]
    assert vigil(*cmd, home=home, cwd=repo).returncode == 1
    (repo / "conf" / "app.json").write_text('{"port": 8080}\n')
    green = vigil(*cmd, home=home, cwd=repo)
    assert green.returncode == 0 and "learned a candidate fix" in green.stderr
    (learned,) = events(home, "--type", "knowledge.fix.learned")
    assert learned["data"]["files"] == ["conf/app.json"]
    (repo / "conf" / "app.json").write_text("{bad\n")
    again = vigil(*cmd, home=home, cwd=repo)
    assert again.returncode == 1
    triage = events(home, "--type", "triage.completed")[-1]["data"]
    assert triage["history"]["flaky"] is False and "flaky" not in again.stderr
    assert [s["path"] for s in triage["suspects"]] == ["conf/app.json"]
    (fix,) = triage["known_fixes"]
    assert fix["match"] == "fingerprint" and fix["files"] == ["conf/app.json"]
    assert fix["key_change"] == {"path": "conf/app.json", "lines": ["- {bad", '+ {"port": 8080}']}
    assert "- {bad" in again.stderr and '+ {"port": 8080}' in again.stderr


def test_the_next_failure_shows_the_lines_that_fixed_it(home: Path, tmp_path: Path) -> None:
    """After red -> green, the same failure prints the removed and added lines of the fix, and
    `vigil kb show` prints the whole diff; --json outputs carry it."""
    repo = project(
        tmp_path,
        {"shop/__init__.py": "", "shop/cart.py": CART_OK, "tests/test_cart.py": TEST},
    )
    cmd = ["run", "--", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    (repo / "shop" / "cart.py").write_text(CART_BROKEN)
    assert vigil(*cmd, home=home, cwd=repo).returncode == 1
    (repo / "shop" / "cart.py").write_text(CART_OK)
    assert vigil(*cmd, home=home, cwd=repo).returncode == 0
    (repo / "shop" / "cart.py").write_text(CART_BROKEN)
    again = vigil(*cmd, home=home, cwd=repo)
    lines = [line.strip() for line in again.stderr.splitlines()]
    at = next(i for i, line in enumerate(lines) if "last time this was fixed by" in line)
    assert lines[at + 1 : at + 4] == [
        "shop/cart.py:",
        "- return subtotal * (1 + d)",
        "+ return subtotal * (1 - d)",
    ]
    entry_id = events(home, "--type", "knowledge.fix.learned")[0]["data"]["entry_id"]
    shown = vigil("kb", "show", entry_id, home=home)
    assert "change:" in shown.stdout and "  -    return subtotal * (1 + d)" in shown.stdout
    as_json = json.loads(vigil("kb", "show", entry_id, "--json", home=home).stdout)
    assert "+    return subtotal * (1 - d)" in as_json["diff"]


def test_export_and_import_keep_a_fix_s_diff(home: Path, tmp_path: Path) -> None:
    """`vigil kb export` writes the diff into the Markdown file; importing it into another home
    gives the same diff back."""
    repo = project(tmp_path, {"load.py": LOADER})
    (repo / "conf").mkdir()
    (repo / "conf" / "app.json").write_text("{bad\n")
    cmd = ["run", "--", sys.executable, "load.py"]
    vigil(*cmd, home=home, cwd=repo)
    (repo / "conf" / "app.json").write_text("{}\n")
    vigil(*cmd, home=home, cwd=repo)
    (entry,) = json.loads(vigil("kb", "list", "--json", home=home).stdout)
    assert entry["diff"].startswith("--- a/conf/app.json\n+++ b/conf/app.json\n@@")
    assert vigil("kb", "export", str(tmp_path / "team-kb"), home=home).returncode == 0
    other = tmp_path / "other-home"
    imported = vigil("kb", "import", str(tmp_path / "team-kb"), home=other)
    assert imported.stdout == "imported 1 entry (1 new, 0 updated, 0 unchanged)\n"
    (copy,) = json.loads(vigil("kb", "list", "--json", home=other).stdout)
    assert copy["diff"] == entry["diff"] and copy["id"] == entry["id"]


def test_hand_written_entries_are_imported_once(home: Path, tmp_path: Path) -> None:
    """`vigil kb import` of a folder of id-less files, twice, stores each entry once."""
    folder = tmp_path / "team-kb"
    folder.mkdir()
    (folder / "redis.md").write_text("---\nkind: fix\ntitle: Start redis\n---\nmake redis\n")
    first = vigil("kb", "import", str(folder), home=home)
    second = vigil("kb", "import", str(folder), home=home)
    assert first.stdout == "imported 1 entry (1 new, 0 updated, 0 unchanged)\n"
    assert second.stdout == "imported 1 entry (0 new, 0 updated, 1 unchanged)\n"
    assert len(json.loads(vigil("kb", "list", "--json", home=home).stdout)) == 1


def test_a_similar_fix_says_how_similar_and_why() -> None:
    """A fix found by similarity is shown with its similarity and reason, never as "last time
    this was fixed by"."""
    diagnosis = {
        "summary": "1 failure (pytest)",
        "failures": [],
        "fingerprint": "abc",
        "history": {},
        "known_fixes": [
            {
                "id": "kb_X",
                "kind": "fix",
                "title": "Fixed by changing shop/cart.py",
                "status": "candidate",
                "confidence": 0.5,
                "seen": 1,
                "match": "text",
                "similarity": 0.72,
                "because": "same AssertionError in tests/test_cart.py",
                "key_change": None,
            }
        ],
        "suspects": [],
        "notes": [],
        "elapsed_ms": 3.0,
    }
    out = io.StringIO()
    render_diagnosis(diagnosis, out)
    assert (
        "→ similar fix (72% similar: same AssertionError in tests/test_cart.py): "
        "Fixed by changing shop/cart.py (candidate, confidence 0.50, seen 1x) kb_X"
    ) in out.getvalue()
