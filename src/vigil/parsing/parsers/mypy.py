"""mypy: ``path.py:6: error: message  [code]`` (with ``--show-column-numbers``: ``path.py:6:5:``).

Notes are context for the error above them and are not failures; the error code becomes
``error_type``.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_ERROR = re.compile(
    r"^(?P<file>(?:[A-Za-z]:)?[^:\n]+?\.pyi?):(?P<line>\d+):(?:(?P<col>\d+):)? error: "
    r"(?P<message>.*?)(?:  \[(?P<code>[\w-]+)\])?$"
)
_SIGNATURE = re.compile(r"\.pyi?:\d+:(?:\d+:)? error: ")


def detect(ctx: Context) -> bool:
    """mypy's error lines are ``.py:N: error:``; the hint covers mypy and dmypy."""
    if ctx.ran("mypy", "dmypy"):
        return True
    if "py" not in ctx.extensions or not ctx.has_error(": error: "):
        return False
    return _SIGNATURE.search(ctx.text) is not None


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per ``error:`` line."""
    hits: list[Hit] = []
    for index, line in ctx.lines_with(": error: "):
        match = _ERROR.match(line)
        if match is None:
            continue
        column = match["col"]
        failure = ctx.failure(
            "mypy",
            match["message"],
            file=match["file"],
            line=int(match["line"]),
            column=int(column) if column else None,
            error_type=match["code"],
        )
        hits.append(Hit(index, failure))
    return hits
