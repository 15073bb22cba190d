"""Git hooks that tell Vigil about commits, branch switches and merges.

``vigil hooks install [--repo DIR]`` writes ``post-commit``, ``post-checkout`` and ``post-merge``
into the repository's hooks folder (``git rev-parse --git-path hooks``, so ``core.hooksPath``
and worktrees are respected). Each hook:

- runs the hook that was there before, if any (moved aside to ``<name>.vigil-chained``), with
  the same arguments, and exits with *its* status: git behaves exactly as before the install;
- captures what can change a moment later (the new HEAD, the branch names) with one or two
  quick ``git rev-parse`` calls, then starts ``python -m vigil hooks run ...`` in the
  background with its output discarded and returns: Vigil never blocks or fails a git command,
  whatever state Vigil is in (uninstalled, a broken database);
- publishes ``git.commit.created`` (``sha``, ``branch``, ``files``, ``subject``, ``repository``),
  ``git.branch.switched`` (``branch``, ``previous``, ``from_sha``, ``to_sha``, ``repository``)
  or ``git.merge.completed`` (``sha``, ``branch``, ``previous_sha``, ``files``, ``squash``).

``vigil hooks uninstall`` removes Vigil's hooks and puts the chained ones back. A hook file
Vigil did not write (or one changed since) is never overwritten or removed.
"""

from __future__ import annotations

import shlex
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.clock import Clock
from vigil.errors import InputError
from vigil.events import catalog
from vigil.events.model import Event, new_event

HOOKS = ("post-commit", "post-checkout", "post-merge")
MARKER = "# vigil-hook v1"
CHAINED = ".vigil-chained"
SOURCE = "vigil.git"
MAX_FILES = 500
ZERO_SHA = "0" * 40
GIT_TIMEOUT_S = 5.0

# What each hook captures before it returns (one git process each): shell lines that set the
# arguments passed on. ``--abbrev-ref HEAD`` prints the branch, or ``HEAD`` when detached.
_CAPTURE = {
    "post-commit": "set -- $(git rev-parse HEAD --abbrev-ref HEAD 2>/dev/null)",
    "post-checkout": (
        'set -- "$1" "$2" "$3" $(git rev-parse --abbrev-ref HEAD "@{-1}" 2>/dev/null)'
    ),
    "post-merge": 'set -- "$1" $(git rev-parse HEAD ORIG_HEAD --abbrev-ref HEAD 2>/dev/null)',
}


def script(hook: str, python: str, home: Path) -> str:
    """The text of Vigil's ``hook`` for an interpreter and a Vigil home."""
    return f"""#!/bin/sh
{MARKER}: written by `vigil hooks install`; `vigil hooks uninstall` removes it.
# Tells Vigil about this {hook} in the background; never blocks or fails git.
status=0
case "$0" in */*) chained="${{0%/*}}/{hook}{CHAINED}" ;; *) chained="./{hook}{CHAINED}" ;; esac
if [ -x "$chained" ]; then
    "$chained" "$@"
    status=$?
fi
(
    {_CAPTURE[hook]}
    VIGIL_HOME="${{VIGIL_HOME:-{shlex.quote(str(home))}}}" \\
        {shlex.quote(python)} -m vigil hooks run {hook} "$@" </dev/null >/dev/null 2>&1 &
) >/dev/null 2>&1
exit $status
"""


@dataclass(frozen=True, slots=True)
class HookChange:
    hook: str
    path: Path
    action: str  # installed | chained | kept | removed | restored | foreign | absent

    def to_dict(self) -> dict[str, str]:
        return {"hook": self.hook, "path": str(self.path), "action": self.action}


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace").strip()


def hooks_dir(repo: Path) -> Path:
    """The folder git runs ``repo``'s hooks from."""
    if not repo.is_dir():
        raise InputError(f"{repo}: no such folder")
    found = _git(repo, "rev-parse", "--git-path", "hooks")
    if found is None:
        raise InputError(f"{repo}: not a git repository")
    path = Path(found)
    return path if path.is_absolute() else (repo / path).resolve()


def _ours(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return MARKER in handle.read(4096)
    except OSError:
        return False


def _write_executable(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".vigil-tmp")
    tmp.write_text(text)
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR)
    tmp.replace(path)


def install(repo: Path, python: str, home: Path) -> list[HookChange]:
    """Install Vigil's hooks in ``repo`` (idempotent); existing hooks are chained."""
    folder = hooks_dir(repo)
    changes: list[HookChange] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for hook in HOOKS:
            path = folder / hook
            chained = folder / (hook + CHAINED)
            action = "installed"
            if path.exists() or path.is_symlink():
                if _ours(path):
                    action = "kept"
                elif chained.exists():
                    raise InputError(
                        f"{path} is not Vigil's and {chained.name} exists already: move one of"
                        " them away, then install again"
                    )
                else:
                    path.replace(chained)
                    action = "chained"
            _write_executable(path, script(hook, python, home))
            changes.append(HookChange(hook, path, action))
    except OSError as exc:
        raise InputError(f"cannot write hooks in {folder}: {exc.strerror or exc}") from None
    return changes


def uninstall(repo: Path) -> list[HookChange]:
    """Remove Vigil's hooks from ``repo`` and put chained hooks back."""
    folder = hooks_dir(repo)
    changes: list[HookChange] = []
    try:
        for hook in HOOKS:
            path = folder / hook
            chained = folder / (hook + CHAINED)
            if path.exists() and not _ours(path):
                changes.append(HookChange(hook, path, "foreign"))
                continue
            if not path.exists() and not chained.exists():
                changes.append(HookChange(hook, path, "absent"))
                continue
            path.unlink(missing_ok=True)
            if chained.exists() or chained.is_symlink():
                chained.replace(path)
                changes.append(HookChange(hook, path, "restored"))
            else:
                changes.append(HookChange(hook, path, "removed"))
    except OSError as exc:
        raise InputError(f"cannot change hooks in {folder}: {exc.strerror or exc}") from None
    return changes


def status(repo: Path) -> list[dict[str, Any]]:
    """Per hook: installed (Vigil's), foreign (someone else's), absent; and what is chained."""
    folder = hooks_dir(repo)
    rows = []
    for hook in HOOKS:
        path = folder / hook
        state = "absent" if not path.exists() else ("installed" if _ours(path) else "foreign")
        chained = folder / (hook + CHAINED)
        rows.append({"hook": hook, "path": str(path), "state": state, "chained": chained.exists()})
    return rows


# -- what a hook publishes ----------------------------------------------------------------------


def _files(repo: Path, *args: str) -> list[str]:
    out = _git(repo, *args)
    return [line for line in (out or "").splitlines() if line][:MAX_FILES]


def _toplevel(cwd: Path) -> str:
    return _git(cwd, "rev-parse", "--show-toplevel") or str(cwd)


def hook_events(hook: str, args: Sequence[str], cwd: Path, clock: Clock) -> list[Event]:
    """The events a hook run with ``args`` (as the script passes them) stands for."""
    repo = _toplevel(cwd)
    root = Path(repo)

    def event(kind: str, data: dict[str, Any]) -> Event:
        return new_event(
            kind, {**data, "repository": repo}, clock=clock, source=SOURCE, subject=repo
        )

    values = [*args, "", "", "", "", ""]
    if hook == "post-commit":
        sha = values[0] or _git(root, "rev-parse", "HEAD") or ""
        if not sha:
            return []
        values[1] = "" if values[1] == "HEAD" else values[1]
        files = _files(root, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", sha)
        subject = _git(root, "log", "-1", "--format=%s", sha) or ""
        commit: dict[str, Any] = {
            "sha": sha,
            "branch": values[1] or None,
            "files": files,
            "subject": subject[:500],
        }
        return [event(catalog.GIT_COMMIT_CREATED, commit)]
    if hook == "post-checkout":
        before, after, flag, branch, previous = values[:5]
        branch = "" if branch == "HEAD" else branch
        if flag != "1" or not before or before == ZERO_SHA:
            return []  # a file checkout, or the first checkout of a clone
        if previous == "HEAD" or not previous:
            previous = before  # came from a detached HEAD
        if (branch or after) == previous:
            return []
        switch: dict[str, Any] = {
            "branch": branch or None,
            "previous": previous,
            "from_sha": before,
            "to_sha": after,
            "detached": not branch,
        }
        return [event(catalog.GIT_BRANCH_SWITCHED, switch)]
    if hook == "post-merge":
        squash, head, orig, current = values[:4]
        if not current:  # no ORIG_HEAD: rev-parse stopped after HEAD
            orig, current = "", ""
        current = "" if current == "HEAD" else current
        merged = _files(root, "diff", "--name-only", orig, head) if orig and head else []
        merge: dict[str, Any] = {
            "sha": head or None,
            "branch": current or None,
            "previous_sha": orig or None,
            "files": merged,
            "squash": squash == "1",
        }
        return [event(catalog.GIT_MERGE_COMPLETED, merge)]
    raise InputError(f"unknown hook {hook!r} (one of {', '.join(HOOKS)})")


def interpreter() -> str:
    """The Python that runs this Vigil (the hooks call it back; a venv's stays the venv's)."""
    import sys

    return sys.executable
