"""Node.js uncaught exceptions: ``TypeError [CODE]: message`` followed by ``    at`` frames.

V8 lists the innermost frame first; ``file``/``line`` point at the first frame (the deepest)
that is the user's own code, skipping ``node:`` built-ins and ``node_modules``.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

JS_FRAME = re.compile(
    r"^\s+at (?:(?P<func>.+?) \()?(?P<file>[^()\s][^()]*?):(?P<line>\d+):(?P<col>\d+)\)?$"
)
JS_ERROR = re.compile(
    r"^(?:Uncaught )?(?P<type>[A-Za-z_$][\w$.]*)(?: \[(?P<code>[\w-]+)\])?: (?P<message>.*)$"
)
_LOOKBACK = 12


def detect(ctx: Context) -> bool:
    """A V8 stack (``    at f (file:1:2)``) with Node's trailer or internals."""
    if ctx.ran("node", "ts-node", "tsx", "nodemon"):
        return ctx.has("    at ")
    if ctx.has("Node.js v"):
        return ctx.has("    at ")
    return ctx.has("rror") and ctx.has("node:internal") and ctx.has("    at ")


def js_frames(lines: list[str], start: int) -> tuple[list[tuple[str, int | None]], int]:
    """Read ``at`` frames from ``lines[start]`` on; return them outermost first, and the end."""
    frames: list[tuple[str, int | None]] = []
    index = start
    while index < len(lines) and lines[index].lstrip().startswith("at "):
        match = JS_FRAME.match(lines[index])
        if match is not None:
            file = match["file"].removeprefix("file://")
            frames.append((file, int(match["line"])))
        index += 1
    frames.reverse()
    return frames, index


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per stack trace with an error line above it."""
    lines = ctx.lines
    hits: list[Hit] = []
    next_free = 0
    for index, line in ctx.lines_with("    at "):
        if index < next_free or not line.lstrip().startswith("at "):
            continue
        frames, next_free = js_frames(lines, index)
        header = _error_line(lines, index)
        if header is None:
            continue
        header_index, match = header
        picked = ctx.pick_frame(frames)
        file, line_no = picked if picked is not None else (None, None)
        column = None
        if picked is not None:
            column = _column_of(lines, index, next_free, picked)
        failure = ctx.failure(
            "node",
            match["message"],
            file=file,
            line=line_no,
            column=column,
            error_type=match["type"],
        )
        hits.append(Hit(header_index, failure))
    return hits


def _error_line(lines: list[str], first_frame: int) -> tuple[int, re.Match[str]] | None:
    """The error line above a stack: less indented than its frames (mocha and ``node --test``
    indent both)."""
    frame = lines[first_frame]
    frame_indent = len(frame) - len(frame.lstrip())
    for index in range(first_frame - 1, max(first_frame - _LOOKBACK, -1), -1):
        line = lines[index]
        stripped = line.lstrip()
        if not stripped or len(line) - len(stripped) > frame_indent:
            continue
        match = JS_ERROR.match(stripped.rstrip())
        if match is not None:
            return index, match
    return None


def _column_of(lines: list[str], start: int, end: int, frame: tuple[str, int | None]) -> int | None:
    file, line = frame
    for index in range(start, end):
        match = JS_FRAME.match(lines[index])
        if (
            match is not None
            and match["file"].removeprefix("file://") == file
            and int(match["line"]) == line
        ):
            return int(match["col"])
    return None
