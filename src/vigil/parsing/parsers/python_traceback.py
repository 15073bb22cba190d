"""Plain Python tracebacks (a script that crashed), including bare ``SyntaxError`` reports.

A chained traceback ("During handling of the above exception ...") is reported once, as its last
exception. ``file``/``line`` point at the deepest frame in the user's project, unless the
exception's message goes on with a location of its own (``in "config.yml", line 3``).
"""

from __future__ import annotations

import re

from vigil.parsing.location import is_library_path
from vigil.parsing.parsers import where
from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.python_frames import FRAME, is_chained, read_traceback, split_exception

_HEADER = "Traceback (most recent call last):"
_SYNTAX = re.compile(r"^(SyntaxError|IndentationError|TabError): ")


def detect(ctx: Context) -> bool:
    """Any traceback header, or a compile-time syntax error report."""
    if ctx.has(_HEADER):
        return True
    return ctx.has_error("SyntaxError: ") or ctx.has_error("IndentationError: ")


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per (chain of) traceback(s) and per bare syntax error."""
    lines = ctx.lines
    hits: list[Hit] = []
    for index, _ in ctx.lines_with(_HEADER):
        traceback = read_traceback(lines, index)
        if traceback is None or is_chained(lines, traceback.end):
            continue
        picked = _message_location(lines, traceback.end) or ctx.pick_frame(traceback.frames)
        file, line = picked if picked is not None else (None, None)
        failure = ctx.failure(
            "python",
            traceback.message or traceback.error_type or "traceback",
            file=file,
            line=line,
            error_type=traceback.error_type,
        )
        hits.append(Hit(index, failure))
    if "Error: " in ctx.text and 'File "' in ctx.text:
        hits.extend(_syntax_errors(ctx, lines))
    return hits


def _message_location(lines: list[str], end: int) -> tuple[str, int | None] | None:
    """A location the exception's message prints on its own indented lines (YAML's ``in
    "config.yml", line 3, column 9``): the file the error is about, when it is the user's."""
    for index in range(end, min(end + 3, len(lines))):
        line = lines[index]
        if not line.startswith((" ", "\t")):
            return None
        found = where.find(line)
        if found is not None and not is_library_path(found.file):
            return found.file, found.line
    return None


def _syntax_errors(ctx: Context, lines: list[str]) -> list[Hit]:
    hits: list[Hit] = []
    for index, line in ctx.lines_with("Error: "):
        if not _SYNTAX.match(line):
            continue
        for back in range(index - 1, max(index - 5, -1), -1):
            frame = FRAME.match(lines[back])
            if frame is None:
                continue
            if frame["func"] is None:
                parsed = split_exception(line)
                if parsed is not None:
                    error_type, message = parsed
                    failure = ctx.failure(
                        "python",
                        message,
                        file=frame["file"],
                        line=int(frame["line"]),
                        error_type=error_type,
                    )
                    hits.append(Hit(back, failure))
            break
    return hits
