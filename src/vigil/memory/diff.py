"""The change a fix made, as a bounded unified diff, and the few lines of it that matter.

A learned fix keeps the hunks that turned red into green (``Entry.diff``): plain unified diff
text (``--- a/PATH`` / ``+++ b/PATH`` / ``@@`` hunks), so people, git tools and Markdown
renderers read it as it is. It is bounded: :data:`CONTEXT` lines of context, at most
:data:`MAX_FILE_LINES` diff lines per file and :data:`MAX_CHARS` characters in all (a cut is
marked with a ``\\ [truncated]`` line, a file left out is named in a ``\\ [not shown]`` line).

:func:`key_lines` picks what a diagnosis shows: the changed lines of the first hunk of the first
file (the most relevant one: the learner orders files by relevance to the failure).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

CONTEXT = 2
MAX_FILE_LINES = 80
MAX_CHARS = 6000
MAX_LINE_CHARS = 300
KEY_LINES = 4


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file's two sides: ``None`` when the file did not exist on that side."""

    path: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class KeyChange:
    """The lines of a change worth showing: ``path`` and lines starting with ``-`` or ``+``."""

    path: str
    lines: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "lines": list(self.lines)}


def file_diff(change: FileChange, context: int = CONTEXT) -> str:
    """The unified diff of one file (``""`` when both sides are equal)."""
    old = _lines(change.old)
    new = _lines(change.new)
    if old == new:
        return ""
    body = list(difflib.unified_diff(old, new, n=context, lineterm=""))[2:]
    head = [
        "--- /dev/null" if change.old is None else f"--- a/{change.path}",
        "+++ /dev/null" if change.new is None else f"+++ b/{change.path}",
    ]
    if len(body) > MAX_FILE_LINES:
        body = [*body[:MAX_FILE_LINES], "\\ [truncated]"]
    return "\n".join(head + [_clip(line) for line in body])


def unified(changes: Sequence[FileChange], max_chars: int = MAX_CHARS) -> str:
    """The diffs of ``changes`` (most relevant first), within ``max_chars`` in all."""
    parts: list[str] = []
    left: list[str] = []
    size = 0
    for change in changes:
        text = file_diff(change)
        if not text:
            continue
        if size + len(text) + 1 > max_chars:
            if not parts:  # the most relevant file is always shown, cut to fit
                cut = text[: max(0, max_chars - 40)].rsplit("\n", 1)[0]
                parts.append(cut + "\n\\ [truncated]")
                size = len(parts[0])
            else:
                left.append(change.path)
            continue
        parts.append(text)
        size += len(text) + 1
    if left:
        parts.append(f"\\ [not shown] {', '.join(left[:10])}" + (" ..." if len(left) > 10 else ""))
    return "\n".join(parts)


def files(diff: str) -> list[str]:
    """The paths a unified diff changes, in order."""
    found: list[str] = []
    old_path: str | None = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            old_path = _path(line[4:])
        elif line.startswith("+++ ") and old_path is not None:
            path = _path(line[4:]) or old_path
            if path and path not in found:
                found.append(path)
            old_path = None
    return found


def key_lines(diff: str, limit: int = KEY_LINES) -> KeyChange | None:
    """The changed lines of the first hunk of the first file: at most ``limit`` lines, half
    removed and half added when both exist, indentation dropped."""
    path: str | None = None
    old_path: str | None = None
    removed: list[str] = []
    added: list[str] = []
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("--- ") and not in_hunk:
            old_path = _path(line[4:])
        elif line.startswith("+++ ") and not in_hunk:
            path = _path(line[4:]) or old_path
        elif line.startswith("@@"):
            if removed or added:
                break
            in_hunk = path is not None
        elif in_hunk and line.startswith("-"):
            removed.append(line[1:].strip())
        elif in_hunk and line.startswith("+"):
            added.append(line[1:].strip())
        elif in_hunk and (removed or added) and not line.startswith(" "):
            break
    removed = [text for text in removed if text]
    added = [text for text in added if text]
    if path is None or not (removed or added):
        return None
    if removed and added:
        take_removed = min(len(removed), max(limit - min(len(added), limit // 2), limit // 2))
        take_added = min(len(added), limit - take_removed)
    else:
        take_removed, take_added = min(len(removed), limit), min(len(added), limit)
    lines = [f"- {_clip(t, 120)}" for t in removed[:take_removed]]
    lines += [f"+ {_clip(t, 120)}" for t in added[:take_added]]
    return KeyChange(path, tuple(lines))


def _lines(text: str | None) -> list[str]:
    if text is None:
        return []
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _clip(line: str, width: int = MAX_LINE_CHARS) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def _path(header: str) -> str | None:
    name = header.split("\t", 1)[0].strip()
    if name == "/dev/null":
        return None
    return name[2:] if name.startswith(("a/", "b/")) else name
