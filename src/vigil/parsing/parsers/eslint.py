"""ESLint's default ``stylish`` formatter.

A file's absolute path on its own line, then ``  2:9  error  message  rule-id`` rows, then
``✖ N problems (E errors, W warnings)``. Errors are failures; warnings only count when the run
failed on them (``--max-warnings``) and there is no error. The rule id becomes ``error_type``.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_ROW = re.compile(r"^\s+(?P<line>\d+):(?P<col>\d+)\s+(?P<severity>error|warning)\s+(?P<rest>.*)$")
_COLUMNS = re.compile(r"\s{2,}")


def detect(ctx: Context) -> bool:
    """The stylish summary line ``\u2716 N problem(s)``."""
    return ctx.ran("eslint") or (ctx.has("\u2716 ") and ctx.has(" problem"))


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per error row (or per warning row when warnings failed the run)."""
    lines = ctx.lines
    errors: list[Hit] = []
    warnings: list[Hit] = []
    file: str | None = None
    for index, line in enumerate(lines):
        if not line:
            continue
        if line[0] not in " \t":
            file = None if line.startswith("\u2716") else line.strip()
            continue
        match = _ROW.match(line)
        if match is None or file is None:
            continue
        columns = _COLUMNS.split(match["rest"].strip())
        rule = columns[-1] if len(columns) > 1 else None
        message = "  ".join(columns[:-1]) if len(columns) > 1 else columns[0]
        failure = ctx.failure(
            "eslint",
            message,
            file=file,
            line=int(match["line"]),
            column=int(match["col"]),
            error_type=rule,
        )
        (errors if match["severity"] == "error" else warnings).append(Hit(index, failure))
    if errors:
        return errors
    return warnings if "too many warnings" in ctx.text else []
