"""Vitest: `` FAIL  price.test.js > withTax > adds the rate`` blocks in the failure summary.

Each block holds the error (``AssertionError: expected 121 to be 120``), a diff, and frames
marked with U+276F (``withTax price.js:2:48`` after the mark), innermost first. The test id is
the suite path after the file (``withTax > adds the rate``); the location is the deepest frame in
the user's code (not ``node_modules``), else the test file. A suite that failed to load
(`` FAIL  x.test.js [ x ]``) is reported with its error and no test.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.node_traceback import JS_ERROR

_FAIL = re.compile(r"^\s*FAIL\s+(?P<file>\S+)(?: \[ [^\]]* \])?(?: > (?P<test>.+?))?\s*$")
_FRAME = re.compile(
    r"^\s*\u276f (?:(?P<func>\S+) )?(?P<file>[^\s()]+?):(?P<line>\d+):(?P<col>\d+)\s*$"
)
_SEPARATOR = "\u23af\u23af\u23af"


def detect(ctx: Context) -> bool:
    """Vitest's ``Test Files`` summary with its U+276F marks, or vitest in the command hint."""
    if ctx.ran("vitest"):
        return True
    return ctx.has("FAIL") and ctx.has("Test Files ") and ctx.has("\u276f ")


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per failed test (or suite) block."""
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with("FAIL "):
        match = _FAIL.match(line)
        if match is None:
            continue
        hits.append(_block(ctx, lines, index, match["file"], match["test"]))
    return hits


def _block(ctx: Context, lines: list[str], start: int, file: str, test: str | None) -> Hit:
    message = ""
    error_type: str | None = None
    frames: list[tuple[str, int | None]] = []
    for index in range(start + 1, min(start + 80, len(lines))):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith(_SEPARATOR) or _FAIL.match(line):
            break
        if stripped.startswith("\u276f "):
            frame = _FRAME.match(line)
            if frame is not None:
                frames.append((frame["file"], int(frame["line"])))
            continue
        if not message and stripped:
            error = JS_ERROR.match(stripped)
            if error is not None:
                error_type, message = error["type"], error["message"]
            else:
                message = stripped
    frames.reverse()
    picked = ctx.pick_frame(frames)
    where, line_no = picked if picked is not None else (file, None)
    failure = ctx.failure(
        "vitest",
        message or "test failed",
        file=where,
        line=line_no,
        test=test,
        error_type=error_type,
    )
    return Hit(start, failure)
