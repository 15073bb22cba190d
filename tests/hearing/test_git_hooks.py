"""Git hooks in real repositories: install, chain, publish, never fail git, uninstall."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import events, vigil, wait_for

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    if home is not None:
        env["VIGIL_HOME"] = str(home)
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    assert git(path, "init", "-q", "-b", "main").returncode == 0
    (path / "README.md").write_text("hello\n")
    git(path, "add", "README.md")
    assert git(path, "commit", "-q", "-m", "first").returncode == 0
    return path


def _install(home: Path, repo: Path) -> list[dict[str, str]]:
    done = vigil("hooks", "install", "--repo", str(repo), "--json", home=home)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, str]] = json.loads(done.stdout)
    return rows


def test_commit_and_branch_switch_are_published(home: Path, repo: Path) -> None:
    """After install, a commit gives git.commit.created (sha, branch, files) and a switch gives
    git.branch.switched (branch, previous), in the background."""
    assert {r["action"] for r in _install(home, repo)} == {"installed"}
    (repo / "app.py").write_text("print(1)\n")
    (repo / "lib.py").write_text("x = 2\n")
    git(repo, "add", ".", home=home)
    assert git(repo, "commit", "-q", "-m", "add app", home=home).returncode == 0
    sha = git(repo, "rev-parse", "HEAD").stdout.strip()
    (commit,) = wait_for(lambda: events(home, "--type", "git.commit.created"))
    assert commit["data"]["sha"] == sha
    assert commit["data"]["branch"] == "main"
    assert sorted(commit["data"]["files"]) == ["app.py", "lib.py"]
    assert commit["data"]["subject"] == "add app"
    assert git(repo, "switch", "-q", "-c", "feature", home=home).returncode == 0
    (switch,) = wait_for(lambda: events(home, "--type", "git.branch.switched"))
    assert switch["data"]["branch"] == "feature" and switch["data"]["previous"] == "main"
    git(repo, "switch", "-q", "main", home=home)
    wait_for(lambda: len(events(home, "--type", "git.branch.switched")) == 2)
    back = events(home, "--type", "git.branch.switched")[-1]
    assert back["data"]["branch"] == "main" and back["data"]["previous"] == "feature"


def test_existing_hooks_are_chained_and_restored(home: Path, repo: Path) -> None:
    """A hook that was there runs first with its arguments and keeps its exit status;
    uninstall puts it back byte for byte."""
    hooks = repo / ".git" / "hooks"
    marker = repo.parent / "ran.txt"
    original = f'#!/bin/sh\necho "$@" >> "{marker}"\nexit 3\n'
    (hooks / "post-checkout").write_text(original)
    (hooks / "post-checkout").chmod(0o755)
    before = git(repo, "switch", "-q", "-c", "before", home=home).returncode
    assert before != 0
    marker.unlink()
    rows = {r["hook"]: r["action"] for r in _install(home, repo)}
    assert rows == {
        "post-commit": "installed",
        "post-checkout": "chained",
        "post-merge": "installed",
    }
    again = {r["hook"]: r["action"] for r in _install(home, repo)}
    assert set(again.values()) == {"kept"}  # idempotent: never chains itself
    switched = git(repo, "switch", "-q", "-c", "other", home=home)
    assert switched.returncode == before  # the chained hook's status, as before the install
    assert len(marker.read_text().split()) == 3  # it got git's three arguments
    wait_for(lambda: events(home, "--type", "git.branch.switched"))
    done = vigil("hooks", "uninstall", "--repo", str(repo), "--json", home=home)
    actions = {r["hook"]: r["action"] for r in json.loads(done.stdout)}
    assert actions == {
        "post-commit": "removed",
        "post-checkout": "restored",
        "post-merge": "removed",
    }
    assert (hooks / "post-checkout").read_text() == original
    assert not (hooks / "post-commit").exists()
    assert not list(hooks.glob("*.vigil-chained"))


def test_a_broken_vigil_never_fails_or_blocks_git(home: Path, repo: Path, tmp_path: Path) -> None:
    """With Vigil's home unusable, commits still succeed, print nothing from Vigil, and the
    hook exits 0."""
    _install(home, repo)
    broken = tmp_path / "not-a-home"
    broken.write_text("a file where a folder should be")
    (repo / "x.txt").write_text("x\n")
    git(repo, "add", ".", home=broken)
    done = git(repo, "commit", "-q", "-m", "still works", home=broken)
    assert done.returncode == 0 and done.stdout == "" and "vigil" not in done.stderr.lower()
    hook = repo / ".git" / "hooks" / "post-commit"
    run = subprocess.run(
        [str(hook)],
        cwd=repo,
        env={**os.environ, "VIGIL_HOME": str(broken)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0 and run.stdout == "" and run.stderr == ""


def test_merge_is_published(home: Path, repo: Path) -> None:
    """post-merge publishes git.merge.completed with the files the merge brought."""
    _install(home, repo)
    git(repo, "switch", "-q", "-c", "topic", home=home)
    (repo / "topic.py").write_text("t = 1\n")
    git(repo, "add", ".", home=home)
    git(repo, "commit", "-q", "-m", "topic work", home=home)
    git(repo, "switch", "-q", "main", home=home)
    assert git(repo, "merge", "-q", "--no-edit", "topic", home=home).returncode == 0
    (merge,) = wait_for(lambda: events(home, "--type", "git.merge.completed"))
    assert merge["data"]["files"] == ["topic.py"] and merge["data"]["branch"] == "main"


def test_not_a_repository_is_one_clear_line(home: Path, tmp_path: Path) -> None:
    """`vigil hooks install` outside a repository exits non-zero with one line."""
    done = vigil("hooks", "install", "--repo", str(tmp_path), home=home)
    assert done.returncode != 0
    assert "not a git repository" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_core_hookspath_is_respected(home: Path, repo: Path) -> None:
    """With core.hooksPath set, the hooks go where git runs them."""
    shared = repo / "githooks"
    git(repo, "config", "core.hooksPath", "githooks")
    _install(home, repo)
    assert (shared / "post-commit").exists()
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
