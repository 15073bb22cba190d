"""Uncaught JVM exceptions: ``Exception in thread "main" java.lang.NumberFormatException: ...``.

The header (or a bare ``pkg.SomeException: message`` line followed by ``\\tat`` frames, as
``printStackTrace`` prints it) gives the exception; when ``Caused by:`` sections follow, the last
one is the root cause and gives the type and message. The location is the first frame of the user's
code (the JVM lists the innermost frame first; JDK, JUnit and build-tool frames are skipped), from
the root cause's frames when it has one, else from the outer trace. The frame's package gives a
source path (``shop/Prices.java``) that the placing step looks for under the project's source roots.
Maven and Gradle print test failures themselves; their parsers report those.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.jvm_stack import Frame, user_frame_of

_THREAD = re.compile(
    r'^Exception in thread "(?P<thread>[^"]*)" (?P<type>[\w.$]+)(?:: (?P<message>.*))?$'
)
_BARE = re.compile(r"^(?P<type>(?:[a-z_][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable))"
                   r"(?:: (?P<message>.*))?$")  # fmt: skip
_CAUSED = re.compile(r"^Caused by: (?P<type>[\w.$]+)(?:: (?P<message>.*))?$")
_MAX_TRACE = 400


def detect(ctx: Context) -> bool:
    """``Exception in thread``, or an exception line followed by ``\\tat`` frames of ``.java``."""
    if not ctx.has("\tat "):
        return False
    if ctx.has('Exception in thread "'):
        return True
    return (ctx.has("Exception") or ctx.has("rror")) and ctx.has(".java:")


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per uncaught exception trace."""
    lines = ctx.lines
    hits: list[Hit] = []
    next_free = 0
    for index, line in ctx.lines_with("\tat "):
        if index < next_free or index == 0 or not line.startswith("\tat "):
            continue
        header = _header(lines, index - 1)
        if header is None:
            continue
        start, exc_type, message = header
        frame, end = user_frame_of(lines, index)
        root_type, root_message, root_frame, end = _root_cause(lines, end)
        if root_type is not None:
            exc_type, message = root_type, root_message
            frame = root_frame or frame
        next_free = end
        failure = ctx.failure(
            "java",
            message or exc_type.rsplit(".", 1)[-1],
            file=frame.file if frame else None,
            line=frame.line if frame else None,
            error_type=exc_type.rsplit(".", 1)[-1],
        )
        hits.append(Hit(start, failure, source=frame.source if frame else None))
    return hits


def _header(lines: list[str], index: int) -> tuple[int, str, str] | None:
    line = lines[index]
    match = _THREAD.match(line) or _BARE.match(line)
    if match is None:
        return None
    return index, match["type"], (match["message"] or "").strip()


def _root_cause(lines: list[str], start: int) -> tuple[str | None, str, Frame | None, int]:
    """Follow ``Caused by:`` sections from ``lines[start]``; return the last one and the end."""
    exc_type: str | None = None
    message = ""
    frame: Frame | None = None
    index = start
    while index < min(start + _MAX_TRACE, len(lines)):
        match = _CAUSED.match(lines[index])
        if match is None:
            break
        exc_type, message = match["type"], (match["message"] or "").strip()
        frame, index = user_frame_of(lines, index + 1)
    return exc_type, message, frame, index
