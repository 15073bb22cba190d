"""What a learned fix says: the change that turned red into green (its diff, its title, its
relevant files), on real commands in real git repositories."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.app import RunReport, Vigil
from vigil.config import load_settings
from vigil.events.catalog import FIX_LEARNED
from vigil.memory import Entry
from vigil.testing import FakeClock

CART_OK = 'def total(subtotal, d):\n    """Apply a discount."""\n    return subtotal * (1 - d)\n'
CART_BROKEN = CART_OK.replace("(1 - d)", "(1 + d)")
TEST = "from shop.cart import total\n\n\ndef test_discount():\n    assert total(100, 0.1) == 90\n"
SECRET = "pk_live_5f0c1d2e3a4b5c6d7e8f9a0b"


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop-project"
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "cart.py").write_text(CART_OK)
    (root / "tests" / "test_cart.py").write_text(TEST)
    (root / "README.md").write_text("# Shop\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "initial")
    return root


@pytest.fixture
def vigil(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Vigil]:
    monkeypatch.setenv("PAYMENT_API_KEY", SECRET)  # a secret in the environment: redacted
    with Vigil(load_settings(), clock=FakeClock()) as app:
        yield app


def pytest_run(vigil: Vigil, repo: Path) -> RunReport:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    report = vigil.run(argv, cwd=str(repo))
    vigil.clock.advance(60)  # type: ignore[attr-defined]
    return report


def cart(repo: Path, text: str) -> None:
    (repo / "shop" / "cart.py").write_text(text)


def only_fix(vigil: Vigil) -> Entry:
    (entry,) = vigil.knowledge.list(kind="fix")
    return entry


def test_an_uncommitted_fix_keeps_its_diff_and_the_next_failure_shows_it(
    vigil: Vigil, repo: Path
) -> None:
    """Red (an uncommitted bug), green: the fix stores the hunk; the same failure again shows
    the lines that turned it green, and carries the diff in known_fixes."""
    cart(repo, CART_BROKEN)
    assert pytest_run(vigil, repo).result.exit_code == 1
    cart(repo, CART_OK)
    green = pytest_run(vigil, repo)
    assert [e.type for e in green.learned] == [FIX_LEARNED]
    fix = only_fix(vigil)
    assert fix.title == "Fixed by changing shop/cart.py"
    assert fix.diff.splitlines()[:2] == ["--- a/shop/cart.py", "+++ b/shop/cart.py"]
    assert "-    return subtotal * (1 + d)\n+    return subtotal * (1 - d)" in fix.diff
    assert "- `shop/cart.py` (+1 -1), uncommitted: the code a failing test" in fix.body
    cart(repo, CART_BROKEN)
    again = pytest_run(vigil, repo)
    assert again.diagnosis is not None
    (known,) = again.diagnosis.known_fixes
    assert known["match"] == "fingerprint" and known["diff"] == fix.diff
    assert known["key_change"] == {
        "path": "shop/cart.py",
        "lines": ["- return subtotal * (1 + d)", "+ return subtotal * (1 - d)"],
    }


def test_a_committed_fix_is_named_after_its_commit_and_diffed_from_git(
    vigil: Vigil, repo: Path
) -> None:
    """Bug and fix both committed: the title is the fix commit's subject, the diff comes from
    git's store."""
    cart(repo, CART_BROKEN)
    git(repo, "commit", "-qam", "Refactor totals")
    assert pytest_run(vigil, repo).result.exit_code == 1
    cart(repo, CART_OK)
    git(repo, "commit", "-qam", "Fix the discount sign")
    assert pytest_run(vigil, repo).result.exit_code == 0
    fix = only_fix(vigil)
    assert fix.title == "Fixed by: Fix the discount sign"
    assert "+    return subtotal * (1 - d)" in fix.diff


@pytest.mark.parametrize("sweep", [False, True], ids=["readme-only", "commit-all"])
def test_an_unrelated_commit_in_between_does_not_name_the_fix(
    vigil: Vigil, repo: Path, sweep: bool
) -> None:
    """Red; a README change committed (alone, or with ``-a`` sweeping the bug into it); the real
    bug reverted uncommitted; green: the title and the relevant files come from the cart change,
    not from the README commit."""
    cart(repo, CART_BROKEN)
    assert pytest_run(vigil, repo).result.exit_code == 1
    (repo / "README.md").write_text("# Shop\n\nNow with docs.\n")
    git(
        repo,
        "commit",
        "-qam" if sweep else "-qm",
        "Update README",
        *([] if sweep else ["README.md"]),
    )
    cart(repo, CART_OK)
    assert pytest_run(vigil, repo).result.exit_code == 0
    fix = only_fix(vigil)
    assert fix.title == "Fixed by changing shop/cart.py"
    assert fix.provenance["relevant"] == ["shop/cart.py"]
    assert fix.provenance["files"] == ["README.md", "shop/cart.py"]
    assert "`README.md` (+2 -0), committed: not linked to the failure" in fix.body
    assert fix.diff.index("shop/cart.py") < fix.diff.index("README.md")


def test_a_confirmed_fix_gets_no_rival_and_counts_a_matching_change(
    vigil: Vigil, repo: Path
) -> None:
    """Once a fix is confirmed, the same change seen again is evidence for it (nothing new is
    announced) and another change that also turns the failure green is not recorded."""
    cart(repo, CART_BROKEN)
    pytest_run(vigil, repo)
    cart(repo, CART_OK)
    pytest_run(vigil, repo)
    confirmed = vigil.knowledge.confirm(only_fix(vigil).id, by="ana")
    cart(repo, CART_BROKEN)
    pytest_run(vigil, repo)
    cart(repo, CART_OK)
    assert pytest_run(vigil, repo).learned == ()
    seen = only_fix(vigil)
    assert (seen.id, seen.status, seen.seen) == (confirmed.id, "active", confirmed.seen + 1)
    cart(repo, CART_BROKEN)
    pytest_run(vigil, repo)
    (repo / "tests" / "test_cart.py").write_text(TEST.replace("== 90", "== 110.00000000000001"))
    assert pytest_run(vigil, repo).learned == ()
    assert [e.id for e in vigil.knowledge.list(kind="fix")] == [confirmed.id]


def test_secrets_in_the_red_state_are_redacted_in_snapshots_and_diffs(
    vigil: Vigil, repo: Path, home: Path
) -> None:
    """A secret in a dirty file never reaches the snapshot store or the learned diff."""
    cart(repo, CART_BROKEN + f'\nPAYMENT_KEY = "{SECRET}"\n')
    assert pytest_run(vigil, repo).result.exit_code == 1
    assert vigil.snapshots.stats()["blobs"] == 1
    cart(repo, CART_OK)
    assert pytest_run(vigil, repo).result.exit_code == 0
    fix = only_fix(vigil)
    assert '-PAYMENT_KEY = "[REDACTED:env:PAYMENT_API_KEY]"' in fix.diff
    vigil.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = b"".join(p.read_bytes() for p in home.glob("vigil.db*"))
    assert SECRET.encode() not in stored


def test_a_passing_run_keeps_no_snapshot(vigil: Vigil, repo: Path) -> None:
    """Only failing runs keep the content of their dirty files."""
    cart(repo, CART_OK + "# a comment\n")
    assert pytest_run(vigil, repo).result.exit_code == 0
    assert vigil.snapshots.stats() == {"blobs": 0, "bytes": 0}
