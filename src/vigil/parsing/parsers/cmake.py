"""CMake: ``CMake Error at CMakeLists.txt:4 (add_executable):`` and the indented text under it.

The message is the indented paragraph after the header (with the next paragraph's first line
when the first ends in ``:``, as in ``Cannot find source file: src/ledgr.c``); the command in
parentheses becomes ``error_type``. When the error is raised inside CMake's own modules
(``/usr/share/cmake-3.25/Modules/FindZLIB.cmake``), the ``Call Stack (most recent call first):``
lines give the user's frame (``CMakeLists.txt:7 (find_package)``). ``CMake Error in
CMakeLists.txt:`` (generate time) has a file and no line; ``CMake Error: text`` has neither.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_HEADER = re.compile(
    r"^CMake Error(?: (?:at|in) (?P<file>.+?)(?::(?P<line>\d+))?(?: \((?P<command>[^)]*)\))?)?:"
    r"\s*(?P<rest>.*)$"
)
_FRAME = re.compile(r"^\s+(?P<file>\S.*?):(?P<line>\d+) \((?P<command>[^)]*)\)\s*$")
_MAX_BODY = 40


def detect(ctx: Context) -> bool:
    """CMake marks its errors with ``CMake Error``."""
    return ctx.has("rror") and ctx.has_error("CMake Error")


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per ``CMake Error`` block."""
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with("CMake Error"):
        match = _HEADER.match(line)
        if match is None:
            continue
        message, frames = _body(lines, index + 1)
        file = match["file"]
        line_no = int(match["line"]) if match["line"] else None
        if file is not None and line_no is not None:
            picked = ctx.pick_frame([*reversed(frames), (file, line_no)])
            if picked is not None:
                file, line_no = picked
        failure = ctx.failure(
            "cmake",
            match["rest"] or message or "CMake error",
            file=file,
            line=line_no,
            error_type=match["command"] or None,
        )
        hits.append(Hit(index, failure))
    return hits


def _body(lines: list[str], start: int) -> tuple[str, list[tuple[str, int | None]]]:
    """Return the message under a header and the call stack's frames (innermost first)."""
    paragraphs: list[list[str]] = [[]]
    frames: list[tuple[str, int | None]] = []
    in_stack = False
    for index in range(start, min(start + _MAX_BODY, len(lines))):
        line = lines[index]
        if line.startswith("Call Stack (most recent call first):"):
            in_stack = True
            continue
        if line and not line[0].isspace():
            break
        if in_stack:
            frame = _FRAME.match(line)
            if frame is not None:
                frames.append((frame["file"], int(frame["line"])))
            elif not line.strip():
                break
            continue
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    first = paragraphs[0]
    message = " ".join(first)
    if message.endswith(":") and len(paragraphs) > 1 and paragraphs[1]:
        message = f"{message} {paragraphs[1][0]}"
    return message, frames
