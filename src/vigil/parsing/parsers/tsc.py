"""TypeScript's compiler: ``src/a.ts(7,9): error TS2322: message`` and, with ``--pretty``,
``src/a.ts:7:9 - error TS2322: message``. The ``TSnnnn`` code becomes ``error_type``.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_PLAIN = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<message>.*)$"
)
_PRETTY = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+) - error (?P<code>TS\d+): (?P<message>.*)$"
)
_GLOBAL = re.compile(r"^error (?P<code>TS\d+): (?P<message>.*)$")


def detect(ctx: Context) -> bool:
    """Every tsc diagnostic carries ``error TSnnnn``."""
    return ctx.ran("tsc", "vue-tsc") or (ctx.has_error("error TS"))


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per tsc error line."""
    hits: list[Hit] = []
    for index, line in ctx.lines_with("error TS"):
        match = _PLAIN.match(line) or _PRETTY.match(line)
        if match is not None:
            failure = ctx.failure(
                "tsc",
                match["message"],
                file=match["file"],
                line=int(match["line"]),
                column=int(match["col"]),
                error_type=match["code"],
            )
        else:
            plain = _GLOBAL.match(line)
            if plain is None:
                continue
            failure = ctx.failure("tsc", plain["message"], error_type=plain["code"])
        hits.append(Hit(index, failure))
    return hits
