"""pylint: ``src/x.py:8:33: E0602: Undefined variable 'quantity' (undefined-variable)``.

Messages come under ``************* Module shop.basket`` headers, and the run closes with ``Your
code has been rated at``. The code (``E0602``) becomes ``error_type``; the symbol stays in the
message. pylint fails on any message, but an error (``E``) or fatal (``F``) is what broke: when
there is one, conventions (``C``), refactors (``R``) and warnings (``W``) are left out. The
``parseable`` format (``x.py:8: [E0602(undefined-variable), f] Undefined ...``) is read too.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_LINE = re.compile(
    r"^(?P<file>(?:[A-Za-z]:)?[^:\n]+?\.pyi?):(?P<line>\d+):(?:(?P<col>\d+):)? "
    r"(?:(?P<code>[CRWEFI]\d{4}): (?P<message>.*)"
    r"|\[(?P<pcode>[CRWEFI]\d{4})(?P<symbol>\([\w-]+\))?(?:, [^\]]*)?\] (?P<pmessage>.*))$"
)
_MARKERS = ("************* Module ", "Your code has been rated at")


def detect(ctx: Context) -> bool:
    """pylint's module headers or its rating line, or pylint in the command hint."""
    if ctx.ran("pylint"):
        return True
    return ctx.has("*****") and any(ctx.has(marker) for marker in _MARKERS)


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per error message (per message of any kind when there is no error)."""
    severe: list[Hit] = []
    other: list[Hit] = []
    for index, line in ctx.lines_with(": "):
        if line[:1] in " *-" or ".py" not in line:
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        code = match["code"] or match["pcode"]
        message = match["message"]
        if message is None:
            message = f"{match['pmessage']} {match['symbol'] or ''}".strip()
        column = match["col"]
        failure = ctx.failure(
            "pylint",
            message,
            file=match["file"],
            line=int(match["line"]),
            column=int(column) if column else None,
            error_type=code,
        )
        (severe if code[0] in "EF" else other).append(Hit(index, failure))
    return severe or other
