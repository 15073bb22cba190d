"""flake8 (and the pycodestyle line format ruff's ``concise`` output shares).

``path.py:1:1: F401 'os' imported but unused``; the code becomes ``error_type``.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

LINT_LINE = re.compile(
    r"^(?P<file>(?:[A-Za-z]:)?[^:\n]+?):(?P<line>\d+):(?P<col>\d+): "
    r"(?P<code>[A-Z]{1,4}\d{1,4}|SyntaxError|invalid-syntax):? (?:\[\*\] )?(?P<message>.*)$"
)
LINT_SIGNATURE = re.compile(r"\.pyi?:\d+:\d+: (?:[A-Z]{1,4}\d{1,4}|SyntaxError|invalid-syntax)")
RUFF_MARKERS = ("[*]", "fixable with", "All checks passed", " --> ", "\nFound ")


def has_ruff_marker(ctx: Context) -> bool:
    """Return True when ruff's own lines (``[*]``, ``Found N error``, ``-->``) show."""
    return any(ctx.has(marker) for marker in RUFF_MARKERS)


def looks_like_lint(text: str) -> bool:
    """Return True when ``text`` holds at least one pycodestyle-format line."""
    return ".py" in text and LINT_SIGNATURE.search(text) is not None


def detect(ctx: Context) -> bool:
    """flake8 lines with none of ruff's own markers (``[*]``, ``Found N error``)."""
    if ctx.ran("flake8", "pyflakes", "pycodestyle"):
        return True
    if ctx.ran("ruff") or "py" not in ctx.extensions:
        return False
    return looks_like_lint(ctx.text) and not has_ruff_marker(ctx)


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per lint line."""
    return parse_lint_lines(ctx, "flake8")


def parse_lint_lines(ctx: Context, tool: str) -> list[Hit]:
    """Return one hit per ``path:line:col: CODE message`` line, labelled ``tool``."""
    hits: list[Hit] = []
    for index, line in ctx.lines_with(": "):
        if line[:1] in " |" or ":" not in line:
            continue
        match = LINT_LINE.match(line)
        if match is None:
            continue
        failure = ctx.failure(
            tool,
            match["message"],
            file=match["file"],
            line=int(match["line"]),
            column=int(match["col"]),
            error_type=match["code"],
        )
        hits.append(Hit(index, failure))
    return hits
