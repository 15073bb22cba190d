"""Git, read-only: where the working tree stands, and what changed between two such states.

``git_state`` records branch, HEAD, the dirty files with their *blob ids* (the same sha1 git gives
``git hash-object``), and a ``tree`` hash over HEAD plus the dirty contents: two runs with equal
``tree`` ran on identical sources. Because dirty files carry blob ids, the changes between two
states can be computed exactly even when nothing was committed in between.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vigil.errors import SourceError
from vigil.events.catalog import GitState
from vigil.memory.changes import ChangedFile, ChangeSet, Commit

MAX_DIRTY = 200
MAX_HASHED_BYTES = 8 * 1024 * 1024
GIT_TIMEOUT_S = 5.0


class GitRunner:
    """Runs git commands that another thread can cut short (:meth:`cancel` kills them).

    ``vigil run`` gathers git facts on a worker thread and gives them a bounded time after the
    command ends; when that time is up it cancels, so no git process outlives the run.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen[bytes]] = set()
        self.cancelled = False

    def run(self, root: str | Path, args: Sequence[str], timeout: float) -> str | None:
        try:
            child = subprocess.Popen(
                ["git", "-C", str(root), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        with self._lock:
            if self.cancelled:
                child.kill()
            self._live.add(child)
        try:
            out, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            child.kill()
            child.communicate()
            raise SourceError(f"git {args[0]} did not answer within {timeout:g} s") from exc
        finally:
            with self._lock:
                self._live.discard(child)
        if self.cancelled:
            raise SourceError(f"git {args[0]} was cut short")
        if child.returncode != 0:
            return None
        return out.decode("utf-8", "replace")

    def cancel(self) -> None:
        """Kill every git process this runner started and refuse new ones."""
        with self._lock:
            self.cancelled = True
            live = list(self._live)
        for child in live:
            with contextlib.suppress(OSError):
                child.kill()


def _git(
    root: str | Path, *args: str, timeout: float = GIT_TIMEOUT_S, runner: GitRunner | None = None
) -> str | None:
    """git's output, ``None`` when it says no (not a repository, unknown revision...).

    A git that hangs is a dependency in trouble, not an answer: it raises
    :class:`SourceError`, which the breaker around git counts.
    """
    return (runner or GitRunner()).run(root, args, timeout)


def blob_id(path: Path) -> str:
    """Git's blob id of a file's content, ``"-"`` if it is gone, ``"big:..."`` past the cap."""
    try:
        stat = path.stat()
        if stat.st_size > MAX_HASHED_BYTES:
            return f"big:{stat.st_size}:{stat.st_mtime_ns}"
        content = path.read_bytes()
    except FileNotFoundError:
        return "-"
    except OSError:
        return "?"
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def git_state(
    cwd: str | Path, timeout: float = GIT_TIMEOUT_S, runner: GitRunner | None = None
) -> GitState | None:
    """The state of the repository containing ``cwd``; ``None`` outside a repository."""
    out = _git(
        cwd,
        "status",
        "--porcelain=v2",
        "--branch",
        "-z",
        "--untracked-files=normal",
        timeout=timeout,
        runner=runner,
    )
    if out is None:
        return None
    root = _git(cwd, "rev-parse", "--show-toplevel", timeout=timeout, runner=runner)
    if root is None:
        return None
    root_path = Path(root.strip())
    head: str | None = None
    branch: str | None = None
    dirty: list[str] = []
    entries = out.split("\0")
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if entry.startswith("# branch.oid "):
            oid = entry.split(" ", 2)[2]
            head = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            name = entry.split(" ", 2)[2]
            branch = None if name == "(detached)" else name
        elif entry.startswith(("1 ", "u ")):
            dirty.append(entry.split(" ", 8 if entry[0] == "1" else 10)[-1])
        elif entry.startswith("2 "):
            dirty.append(entry.split(" ", 9)[-1])
            index += 1  # the rename's original path follows
        elif entry.startswith("? "):
            dirty.append(entry[2:])
    dirty.sort()
    hashes = {p: blob_id(root_path / p) for p in dirty[:MAX_DIRTY]}
    tree = hashlib.sha256((head or "").encode())
    for path, blob in sorted(hashes.items()):
        tree.update(f"\0{path}\0{blob}".encode())
    if len(dirty) > MAX_DIRTY:
        tree.update(f"\0+{len(dirty)}".encode())
    return {
        "root": str(root_path),
        "branch": branch,
        "head": head,
        "dirty": dirty[:MAX_DIRTY],
        "blobs": hashes,
        "tree": tree.hexdigest()[:16],
    }


def _committed(root: str, before: str, after: str) -> tuple[list[Commit], dict[str, list[str]]]:
    out = _git(
        root, "log", "--format=%x1e%h%x1f%s%x1f%an%x1f%aI", "--name-only", f"{before}..{after}"
    )
    if out is None:
        return [], {}
    commits: list[Commit] = []
    touched: dict[str, list[str]] = {}
    for record in out.split("\x1e")[1:]:
        header, _, names = record.partition("\n")
        sha, subject, author, time = [*header.split("\x1f"), "", "", ""][:4]
        commits.append(Commit(sha=sha, subject=subject, author=author, time=time))
        for name in names.split("\n"):
            if name.strip():
                touched.setdefault(name.strip(), []).append(sha)
    return commits, touched


def _tree_blobs(root: str, head: str | None, paths: Sequence[str]) -> dict[str, str]:
    if not head or not paths:
        return {}
    out = _git(root, "ls-tree", "-z", head, "--", *paths)
    blobs: dict[str, str] = {}
    for entry in (out or "").split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3:
            blobs[path] = parts[2]
    return blobs


def _numstat(root: str, head: str | None, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
    if not head or not paths:
        return {}
    out = _git(root, "diff", "--numstat", head, "--", *paths)
    stats: dict[str, tuple[int, int]] = {}
    for line in (out or "").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            stats[parts[2]] = (int(parts[0]), int(parts[1]))
    return stats


class GitChangeInspector:
    """Computes :class:`ChangeSet` between two ``git_state`` payloads with the git CLI."""

    def changes(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> ChangeSet:
        root = after.get("root")
        if not root or before.get("root") != root:
            return ChangeSet(complete=False, notes=("not the same git repository",))
        head0, head1 = before.get("head"), after.get("head")
        notes: list[str] = []
        commits: list[Commit] = []
        touched: dict[str, list[str]] = {}
        if head0 and head1 and head0 != head1:
            commits, touched = _committed(root, head0, head1)
            if not commits:
                notes.append("history between the two runs is not available")
        blobs0: dict[str, str] = dict(before.get("blobs") or {})
        blobs1: dict[str, str] = dict(after.get("blobs") or {})
        candidates = sorted(set(blobs0) | set(blobs1) | set(touched))
        # Content of each candidate at each state: dirty blob if it was dirty, else HEAD's blob.
        at0 = _tree_blobs(root, head0, [p for p in candidates if p not in blobs0])
        at1 = _tree_blobs(root, head1, [p for p in candidates if p not in blobs1])
        changed = [
            p
            for p in candidates
            if blobs0.get(p, at0.get(p, "-")) != blobs1.get(p, at1.get(p, "-"))
        ]
        stats = _numstat(root, head0, changed)
        files = tuple(
            ChangedFile(
                path=p,
                committed=p in touched,
                added=stats.get(p, (None, None))[0],
                removed=stats.get(p, (None, None))[1],
                commits=tuple(touched.get(p, ())),
            )
            for p in changed
        )
        return ChangeSet(
            files=files, commits=tuple(commits), complete=not notes, notes=tuple(notes)
        )


def git_log(root: str | Path, limit: int = 10) -> list[dict[str, str]]:
    """The latest commits, newest first: sha, subject, author, time."""
    out = _git(root, "log", f"-{max(1, min(limit, 100))}", "--format=%h%x1f%s%x1f%an%x1f%aI")
    commits = []
    for line in (out or "").splitlines():
        sha, subject, author, time = [*line.split("\x1f"), "", "", ""][:4]
        commits.append({"sha": sha, "subject": subject, "author": author, "time": time})
    return commits


def git_diff(
    root: str | Path, rev: str = "HEAD", path: str | None = None, patch_chars: int = 3000
) -> dict[str, str]:
    """``git diff REV [-- PATH]``: the diff stat and a bounded patch (working tree vs REV)."""
    if rev.startswith("-"):
        return {"rev": rev, "stat": "", "patch": "", "error": "a revision cannot start with '-'"}
    tail = ["--", path] if path else []
    stat = _git(root, "diff", "--stat", rev, *tail)
    patch = _git(root, "diff", rev, *tail)
    if stat is None or patch is None:
        return {"rev": rev, "stat": "", "patch": "", "error": f"git could not diff {rev!r}"}
    if len(patch) > patch_chars:
        patch = patch[:patch_chars] + "\n[truncated]"
    return {"rev": rev, "stat": stat.strip(), "patch": patch}
