"""ruff: the ``concise`` format (``path:1:8: F401 [*] message``) and the ``full`` format.

The full format (ruff 0.12 and later) puts the code and message on a header line and the
location on the next: ``F401 [*] `os` imported but unused`` / `` --> src/x.py:1:8``. Older
``full`` output repeated the concise line above the source snippet, so the concise rule covers it.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.flake8 import has_ruff_marker, looks_like_lint, parse_lint_lines

_HEADER = re.compile(
    r"^(?P<code>[A-Z]{1,4}\d{1,4}|invalid-syntax|SyntaxError):? (?:\[\*\] )?(?P<message>.*)$"
)
_ARROW = re.compile(r"^\s*--> (?P<file>.+?):(?P<line>\d+):(?P<col>\d+)$")
_ARROW_SIGNATURE = re.compile(r"--> [^\n:]*\.pyi?:\d+:\d+")
_FULL_SIGNATURE = re.compile(r"\n(?:[A-Z]{1,4}\d{1,4}|invalid-syntax)[: ].*\n\s*--> ")


def detect(ctx: Context) -> bool:
    """ruff's markers with lint lines, or a code header followed by a ``-->`` location."""
    if ctx.ran("ruff"):
        return True
    if "py" not in ctx.extensions:
        return False
    if _ARROW_SIGNATURE.search(ctx.text) is not None:
        return _FULL_SIGNATURE.search("\n" + ctx.text) is not None
    return looks_like_lint(ctx.text) and has_ruff_marker(ctx)


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per diagnostic, whichever format printed it."""
    hits = parse_lint_lines(ctx, "ruff")
    if "-->" in ctx.text:
        hits.extend(_full_format(ctx))
    return hits


def _full_format(ctx: Context) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with("-->"):
        arrow = _ARROW.match(line)
        if arrow is None or index == 0:
            continue
        header = _HEADER.match(lines[index - 1])
        if header is None:
            continue
        failure = ctx.failure(
            "ruff",
            header["message"],
            file=arrow["file"],
            line=int(arrow["line"]),
            column=int(arrow["col"]),
            error_type=header["code"],
        )
        hits.append(Hit(index - 1, failure))
    return hits
