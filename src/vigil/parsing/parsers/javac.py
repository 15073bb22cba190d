"""javac: ``Foo.java:5: error: cannot find symbol`` with source, caret and ``symbol:`` lines.

The caret's position gives the column. For ``cannot find symbol`` the ``symbol:`` line is
appended to the message (``cannot find symbol: variable itemz``), since it is what tells two such
errors apart. ``error_type`` is the message's lead (``cannot find symbol``, ``incompatible
types``). The same lines inside a Gradle build are reported by the Gradle parser.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_ERROR = re.compile(
    r"^(?P<file>(?:[A-Za-z]:)?[^\s:][^:]*\.java):(?P<line>\d+): error: (?P<message>.*)$"
)
_SYMBOL = re.compile(r"^\s*(?:\[ERROR\]\s*)?symbol:\s+(?P<symbol>.*)$")


def detect(ctx: Context) -> bool:
    """``.java:N: error:`` lines, or javac in the command hint."""
    return ctx.ran("javac") or ("java" in ctx.extensions and ctx.has_error(": error: "))


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per javac error."""
    return parse_java_errors(ctx, "javac")


def error_type_of(message: str) -> str | None:
    """Return the lead of a javac message: ``incompatible types: ...`` gives its first part."""
    lead = message.split(": ", 1)[0].strip()
    return lead if lead and len(lead) <= 40 else None


def symbol_after(lines: list[str], index: int) -> str | None:
    """Return the ``symbol:`` detail in the few lines after ``lines[index]``, if any."""
    for follow in range(index + 1, min(index + 5, len(lines))):
        match = _SYMBOL.match(lines[follow])
        if match is not None:
            return " ".join(match["symbol"].split())
    return None


def parse_java_errors(ctx: Context, tool: str) -> list[Hit]:
    """Return one hit per ``File.java:N: error:`` block, labelled ``tool``."""
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with(": error: "):
        match = _ERROR.match(line)
        if match is None:
            continue
        message = match["message"].strip()
        column = None
        if index + 2 < len(lines) and lines[index + 2].strip() == "^":
            column = lines[index + 2].index("^") + 1
        if message == "cannot find symbol":
            symbol = symbol_after(lines, index)
            if symbol:
                message = f"{message}: {symbol}"
        failure = ctx.failure(
            tool,
            message,
            file=match["file"],
            line=int(match["line"]),
            column=column,
            error_type=error_type_of(message),
        )
        hits.append(Hit(index, failure))
    return hits
