"""pyright / basedpyright: ``  /abs/src/x.py:6:18 - error: message`` under a file header line.

A message may go on over more indented lines; the last one ends with the rule in parentheses
(``(reportArgumentType)``), which becomes ``error_type``. Warnings and informations are skipped.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_ERROR = re.compile(
    r"^(?P<indent>\s*)(?P<file>\S.*?):(?P<line>\d+):(?P<col>\d+) - error: (?P<message>.*)$"
)
_RULE = re.compile(r"\s*\((?P<rule>report\w+)\)$")
_SUMMARY = re.compile(r"^\d+ errors?, \d+ warnings?, \d+ (?:informations?|notes?)")


def detect(ctx: Context) -> bool:
    """``- error:`` lines with pyright's summary or rule names, or pyright in the command hint."""
    if ctx.ran("pyright", "basedpyright"):
        return True
    if not ctx.has_error(" - error: "):
        return False
    return ctx.has(" informations") or ctx.has("(report")


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per error."""
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with(" - error: "):
        match = _ERROR.match(line)
        if match is None:
            continue
        message = match["message"]
        rule = _RULE.search(message)
        indent = len(match["indent"])
        follow = index + 1
        while rule is None and follow < len(lines) and follow < index + 20:
            text = lines[follow]
            if len(text) - len(text.lstrip()) <= indent or _SUMMARY.match(text):
                break
            rule = _RULE.search(text)
            follow += 1
        if rule is not None and rule.string is message:
            message = message[: rule.start()]
        failure = ctx.failure(
            "pyright",
            message,
            file=match["file"],
            line=int(match["line"]),
            column=int(match["col"]),
            error_type=rule["rule"] if rule is not None else None,
        )
        hits.append(Hit(index, failure))
    return hits
