"""Jest: ``\u25cf Suite \u203a test name`` blocks under ``FAIL path`` headers.

The message is the block's first line; for ``expect(...)`` failures the ``Expected:`` and
``Received:`` lines are appended and the matcher (``toBe``) becomes ``error_type``, for thrown
errors the error class does. The location is the deepest user ``at`` frame, else the FAIL file.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.node_traceback import JS_ERROR, JS_FRAME

_FAIL = re.compile(r"^FAIL (?P<file>\S+)")
_MATCHER = re.compile(r"^expect\(.*?\)\.(?:not\.|resolves\.|rejects\.)*(?P<matcher>\w+)\(")
_BULLET = "  \u25cf "


def detect(ctx: Context) -> bool:
    """A ``FAIL`` suite with Jest's ``Test Suites:`` summary or its ``\u25cf`` failure bullets."""
    if ctx.ran("jest"):
        return True
    return ctx.has("FAIL") and (ctx.has("Test Suites:") or ctx.has(_BULLET))


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per failed test (or per suite that failed to run)."""
    lines = ctx.lines
    hits: list[Hit] = []
    suites = [(index, match["file"]) for index, line in ctx.lines_with("FAIL ")
              if (match := _FAIL.match(line)) is not None]  # fmt: skip
    suite_lines = [index for index, _ in suites]
    bullets = [index for index, line in ctx.lines_with(_BULLET) if line.startswith(_BULLET)]
    for position, start in enumerate(bullets):
        suite = bisect_right(suite_lines, start) - 1
        suite_file = suites[suite][1] if suite >= 0 else None
        end = bullets[position + 1] if position + 1 < len(bullets) else len(lines)
        hit = _block(ctx, lines, start, end, suite_file)
        if hit is not None:
            hits.append(hit)
    return hits


def _block(
    ctx: Context, lines: list[str], start: int, end: int, suite_file: str | None
) -> Hit | None:
    title = lines[start][len(_BULLET) :].strip()
    if title == "Console":
        return None
    test = None if title == "Test suite failed to run" else title
    message = ""
    error_type: str | None = None
    details: list[str] = []
    frames: list[tuple[str, int | None, int | None]] = []
    for index in range(start + 1, end):
        line = lines[index]
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(("Test Suites:", "FAIL ", "PASS ")) and line[:1] != " ":
            break
        if stripped.startswith("at "):
            frame = JS_FRAME.match(line)
            if frame is not None:
                col = int(frame["col"])
                frames.append((frame["file"], int(frame["line"]), col))
            continue
        if not message:
            message = stripped
            error = JS_ERROR.match(stripped)
            matcher = _MATCHER.match(stripped)
            if matcher is not None:
                error_type = matcher["matcher"]
            elif error is not None and error["type"].endswith(("Error", "Exception")):
                error_type, message = error["type"], error["message"]
        elif stripped.startswith(("Expected:", "Received:")) and len(details) < 2:
            details.append(stripped)
    if details:
        message = f"{message} ({', '.join(details)})"
    ordered = [(file, line) for file, line, _ in reversed(frames)]
    picked = ctx.pick_frame(ordered)
    file, line_no, column = suite_file, None, None
    if picked is not None:
        file, line_no = picked
        column = next(col for f, ln, col in frames if (f, ln) == picked)
    failure = ctx.failure(
        "jest",
        message or title,
        file=file,
        line=line_no,
        column=column,
        test=test,
        error_type=error_type,
    )
    return Hit(start, failure)
