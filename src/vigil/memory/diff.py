"""The change a fix made, as a bounded unified diff, and the few lines of it that matter.

A learned fix keeps the hunks that turned red into green (``Entry.diff``): plain unified diff
text (``--- a/PATH`` / ``+++ b/PATH`` / ``@@`` hunks), so people, git tools and Markdown
renderers read it as it is. It is bounded: :data:`CONTEXT` lines of context, at most
:data:`MAX_FILE_LINES` diff lines per file and :data:`MAX_CHARS` characters in all (a cut is
marked with a ``\\ [truncated]`` line, a file left out is named in a ``\\ [not shown]`` line).

:func:`key_lines` picks what a diagnosis shows: the changed lines of the first hunk of the first
file (the most relevant one: the learner orders files by relevance to the failure). The reader
(:func:`hunks`) counts lines from each ``@@`` header, so it also reads diffs written by hand or by
git.
"""

from __future__ import annotations

import difflib
import re
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
                size = max_chars  # nothing else fits after a cut
            else:
                left.append(change.path)
            continue
        parts.append(text)
        size += len(text) + 1
    if left:
        parts.append(f"\\ [not shown] {', '.join(left[:10])}" + (" ..." if len(left) > 10 else ""))
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class Hunk:
    path: str  # the file's path on the new side (the old side's when it was deleted)
    lines: tuple[str, ...]  # the hunk's lines, each starting with " ", "-" or "+"


_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def hunks(diff: str) -> list[Hunk]:
    """The hunks of a unified diff, in order (lines counted from each ``@@`` header, so a
    removed line that starts with ``--`` is never taken for a file header)."""
    found: list[Hunk] = []
    old_path: str | None = None
    path: str | None = None
    lines = diff.splitlines()
    at = 0
    while at < len(lines):
        line = lines[at]
        at += 1
        if line.startswith("--- "):
            old_path = _path(line[4:])
        elif line.startswith("+++ "):
            path = _path(line[4:]) or old_path
        elif (header := _HUNK_HEADER.match(line)) and path is not None:
            old_left = int(header.group(1) or 1)
            new_left = int(header.group(2) or 1)
            body: list[str] = []
            while at < len(lines) and (old_left > 0 or new_left > 0):
                text = lines[at]
                if text.startswith("\\"):
                    at += 1
                    continue
                kind = text[:1] or " "
                if kind not in " -+":
                    break
                old_left -= kind in " -"
                new_left -= kind in " +"
                body.append(text if text else " ")
                at += 1
            found.append(Hunk(path, tuple(body)))
    return found


def files(diff: str) -> list[str]:
    """The paths a unified diff changes, in order."""
    return list(dict.fromkeys(hunk.path for hunk in hunks(diff)))


def counts(diff: str) -> dict[str, tuple[int, int]]:
    """Lines added and removed, per file."""
    result: dict[str, tuple[int, int]] = {}
    for hunk in hunks(diff):
        added, removed = result.get(hunk.path, (0, 0))
        added += sum(1 for line in hunk.lines if line.startswith("+"))
        removed += sum(1 for line in hunk.lines if line.startswith("-"))
        result[hunk.path] = (added, removed)
    return result


def key_lines(diff: str, limit: int = KEY_LINES) -> KeyChange | None:
    """The changed lines of the first hunk that changes a non-blank line: at most ``limit``
    lines, half removed and half added when both exist, indentation dropped."""
    for hunk in hunks(diff):
        removed = [t[1:].strip() for t in hunk.lines if t.startswith("-") and t[1:].strip()]
        added = [t[1:].strip() for t in hunk.lines if t.startswith("+") and t[1:].strip()]
        if not (removed or added):
            continue
        if removed and added:
            take_added = min(len(added), max(limit // 2, limit - len(removed)))
            take_removed = min(len(removed), limit - take_added)
        else:
            take_removed, take_added = min(len(removed), limit), min(len(added), limit)
        lines = [f"- {_clip(t, 120)}" for t in removed[:take_removed]]
        lines += [f"+ {_clip(t, 120)}" for t in added[:take_added]]
        return KeyChange(hunk.path, tuple(lines))
    return None


def _lines(text: str | None) -> list[str]:
    if not text:
        return []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def _clip(line: str, width: int = MAX_LINE_CHARS) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def _path(header: str) -> str | None:
    name = header.split("\t", 1)[0].strip()
    if name == "/dev/null":
        return None
    return name[2:] if name.startswith(("a/", "b/")) else name
