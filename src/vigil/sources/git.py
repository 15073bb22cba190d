"""Git, read-only: where the working tree stands, and what changed between two such states.

``git_state`` records branch, HEAD, the dirty files with their *blob ids* (the same sha1 git gives
``git hash-object``), and a ``tree`` hash over HEAD plus the dirty contents: two runs with equal
``tree`` ran on identical sources. Because dirty files carry blob ids, the changes between two
states can be computed exactly even when nothing was committed in between.

Untracked files are listed one by one (``--untracked-files=all``; gitignored files never), so a
file inside a new folder is a change like any other, not an opaque ``conf/``. The list is
bounded: at most :data:`MAX_DIRTY` files are hashed (modified tracked files first, then untracked
ones), and at most :data:`MAX_HASHED_TOTAL` bytes are read per state (beyond it a file is known by
its size and time, ``big:...``).

What a fix changed is read back by blob id (:meth:`GitChangeInspector.contents`): the working tree
when its content still has that id, else git's object store (``git cat-file``) for committed and
staged content. The content of a failing run's dirty files, which git never stored, is captured by
:func:`dirty_contents` (bounded, verified against the recorded blob ids) for Vigil's own snapshot
store (``vigil.memory.snapshots``).
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vigil.errors import SourceError
from vigil.events.catalog import GitState
from vigil.memory.changes import ChangedFile, ChangeSet, Commit

MAX_DIRTY = 200
MAX_HASHED_BYTES = 8 * 1024 * 1024
MAX_HASHED_TOTAL = 64 * 1024 * 1024
GIT_TIMEOUT_S = 5.0
#: Snapshot bounds for one failing run: bigger files, binary files and anything past the run's
#: budget are not kept (their diff is then unknown, never wrong).
SNAPSHOT_FILE_BYTES = 256 * 1024
SNAPSHOT_RUN_BYTES = 256 * 1024
SNAPSHOT_RUN_FILES = 100
_BINARY_PROBE = 8000


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


def _git_bytes(
    root: str | Path, *args: str, stdin: bytes | None = None, timeout: float = GIT_TIMEOUT_S
) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"git {args[0]} did not answer within {timeout:g} s") from exc
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout


def hash_blob(content: bytes) -> str:
    """Git's blob id of ``content`` (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def is_blob_id(value: object) -> bool:
    """Whether ``value`` is a real blob id (not ``"-"`` gone, ``"?"`` unreadable, ``"big:..."``)."""
    return isinstance(value, str) and len(value) == 40 and all(c in _HEX for c in value)


_HEX = frozenset("0123456789abcdef")


def blob_id(path: Path, max_bytes: int = MAX_HASHED_BYTES) -> str:
    """Git's blob id of a file's content, ``"-"`` if it is gone, ``"big:..."`` past the cap."""
    try:
        stat = path.stat()
        if stat.st_size > max_bytes:
            return f"big:{stat.st_size}:{stat.st_mtime_ns}"
        content = path.read_bytes()
    except FileNotFoundError:
        return "-"
    except OSError:
        return "?"
    return hash_blob(content)


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
        "--untracked-files=all",
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
    untracked: list[str] = []
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
            untracked.append(entry[2:])
    total = len(dirty) + len(untracked)
    # Modified tracked files first: a fix is more often there than in a pile of new files.
    kept = sorted(dirty)[:MAX_DIRTY]
    kept += sorted(untracked)[: MAX_DIRTY - len(kept)]
    hashes = _hash_files(root_path, kept)
    tree = hashlib.sha256((head or "").encode())
    for path, blob in sorted(hashes.items()):
        tree.update(f"\0{path}\0{blob}".encode())
    if total > MAX_DIRTY:
        tree.update(f"\0+{total}".encode())
    return {
        "root": str(root_path),
        "branch": branch,
        "head": head,
        "dirty": sorted(kept),
        "blobs": hashes,
        "tree": tree.hexdigest()[:16],
    }


def _hash_files(root: Path, paths: Sequence[str]) -> dict[str, str]:
    """Blob ids of ``paths``, reading at most :data:`MAX_HASHED_TOTAL` bytes in all."""
    hashes: dict[str, str] = {}
    budget = MAX_HASHED_TOTAL
    for path in paths:
        blob = blob_id(root / path, max_bytes=min(MAX_HASHED_BYTES, budget))
        if is_blob_id(blob):
            budget -= _size(root / path)
        hashes[path] = blob
    return hashes


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def dirty_contents(
    state: Mapping[str, Any],
    *,
    skip: Iterable[str] = (),
    max_file: int = SNAPSHOT_FILE_BYTES,
    max_total: int = SNAPSHOT_RUN_BYTES,
    max_files: int = SNAPSHOT_RUN_FILES,
) -> dict[str, str]:
    """The text of a state's dirty files, by blob id, as it still is on disk.

    Only content whose blob id is the one ``state`` recorded is returned (a file edited since is
    left out, never misattributed); binary or non-UTF-8 files, files over ``max_file`` bytes and
    anything past ``max_files``/``max_total`` (smallest files first) are skipped, and so are the
    blob ids in ``skip`` (already kept).
    """
    root = state.get("root")
    blobs = state.get("blobs") or {}
    if not root or not isinstance(blobs, Mapping):
        return {}
    known = set(skip)
    sized: list[tuple[int, str, str]] = []
    for path, blob in blobs.items():
        if not is_blob_id(blob) or blob in known:
            continue
        size = _size(Path(root) / path)
        if 0 < size <= max_file:
            sized.append((size, str(path), str(blob)))
            known.add(blob)
    sized.sort()
    found: dict[str, str] = {}
    total = 0
    for size, path, blob in sized:
        if len(found) >= max_files or total + size > max_total:
            break
        try:
            data = (Path(root) / path).read_bytes()
        except OSError:
            continue
        text = _text(data)
        if text is None or hash_blob(data) != blob:
            continue
        found[blob] = text
        total += len(data)
    return found


def _text(data: bytes) -> str | None:
    """``data`` as text, ``None`` for binary (a NUL byte early on, or not UTF-8)."""
    if b"\0" in data[:_BINARY_PROBE]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


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
                before=blobs0.get(p, at0.get(p, "-")),
                after=blobs1.get(p, at1.get(p, "-")),
            )
            for p in changed
        )
        return ChangeSet(
            files=files, commits=tuple(commits), complete=not notes, notes=tuple(notes)
        )

    def contents(
        self, root: str, wanted: Mapping[str, str | None], max_bytes: int = SNAPSHOT_FILE_BYTES
    ) -> dict[str, bytes]:
        """Content by blob id: the working-tree file named for it when its content still has
        that id (no git process), else git's object store (``git cat-file``). Blobs over
        ``max_bytes`` or found nowhere are left out."""
        ids = sorted(blob for blob in wanted if is_blob_id(blob))
        found: dict[str, bytes] = {}
        for blob in ids:
            path = wanted[blob]
            file = Path(root) / path if path else None
            if file is None or not 0 <= _size(file) <= max_bytes:
                continue
            try:
                data = file.read_bytes()
            except OSError:
                continue
            if hash_blob(data) == blob:
                found[blob] = data
        missing = [blob for blob in ids if blob not in found]
        found.update(_cat_blobs(root, missing, max_bytes))
        return found


def _cat_blobs(root: str, ids: Sequence[str], max_bytes: int) -> dict[str, bytes]:
    """``git cat-file``: the blobs among ``ids`` that git stores, up to ``max_bytes`` each."""
    if not ids:
        return {}
    sizes = _git_bytes(root, "cat-file", "--batch-check", stdin="\n".join(ids).encode() + b"\n")
    small: list[str] = []
    for line in (sizes or b"").decode("ascii", "replace").splitlines():
        parts = line.split()
        if (
            len(parts) == 3
            and parts[1] == "blob"
            and parts[2].isdigit()
            and (int(parts[2]) <= max_bytes)
        ):
            small.append(parts[0])
    if not small:
        return {}
    out = _git_bytes(root, "cat-file", "--batch", stdin="\n".join(small).encode() + b"\n")
    found: dict[str, bytes] = {}
    at = 0
    data = out or b""
    while at < len(data):
        end = data.find(b"\n", at)
        if end < 0:
            break
        header = data[at:end].decode("ascii", "replace").split()
        at = end + 1
        if len(header) != 3 or not header[2].isdigit():
            continue  # "<id> missing"
        size = int(header[2])
        found[header[0]] = data[at : at + size]
        at += size + 1  # the content, then a newline
    return found


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
