"""unittest: ``FAIL: test_x (pkg.mod.TestCase.test_x)`` blocks with their tracebacks.

The test id is the dotted name in parentheses (Python 3.11+ prints it whole; older versions print
only ``pkg.mod.TestCase``, to which the method name is appended). The traceback after the block's
dashed rule gives the exception and the deepest user frame.
"""

from __future__ import annotations

import re

from vigil.parsing.failure import Failure
from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.python_frames import read_traceback

_HEADER = re.compile(r"^(?P<kind>FAIL|ERROR|UNEXPECTED SUCCESS): (?P<name>\S+) \((?P<id>[^)]+)\)")
_RULE = "=" * 70


def detect(ctx: Context) -> bool:
    """unittest frames each problem with a 70-character ``=`` rule and a ``FAIL:``/``ERROR:``."""
    if ctx.ran("unittest"):
        return True
    return ctx.has(_RULE) and (ctx.has("\nFAIL: ") or ctx.has("\nERROR: "))


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per ``FAIL:``/``ERROR:`` block."""
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with(": "):
        if not line.startswith(("FAIL: ", "ERROR: ", "UNEXPECTED SUCCESS: ")):
            continue
        match = _HEADER.match(line)
        if match is None:
            continue
        name, dotted = match["name"], match["id"]
        test = dotted if dotted.endswith("." + name) else f"{dotted}.{name}"
        hits.append(Hit(index, _block_failure(ctx, lines, index, test, match["kind"])))
    return hits


def _block_failure(ctx: Context, lines: list[str], start: int, test: str, kind: str) -> Failure:
    for index in range(start + 1, min(start + 4, len(lines))):
        if lines[index].startswith("Traceback (most recent call last):"):
            traceback = read_traceback(lines, index)
            if traceback is not None:
                picked = ctx.pick_frame(traceback.frames)
                file, line = picked if picked is not None else (None, None)
                return ctx.failure(
                    "unittest",
                    traceback.message or traceback.error_type or kind,
                    file=file,
                    line=line,
                    test=test,
                    error_type=traceback.error_type,
                )
    return ctx.failure("unittest", kind.lower(), test=test)
