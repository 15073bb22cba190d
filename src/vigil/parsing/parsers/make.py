"""make: recipe failures and make's own errors.

``make: *** [Makefile:5: check] Error 1`` (``make[2]:`` when nested; older makes print
``make: *** [check] Error 1``) is a weak hit: it only says a recipe failed, so it is kept only
when no parser found the real error. make's own errors are real failures:
``make: *** No rule to make target 'x'.  Stop.`` and ``Makefile:3: *** missing separator.  Stop.``
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_RECIPE = re.compile(
    r"^g?make(?:\[\d+\])?: \*\*\* \[(?:(?P<file>[^\]:]+):(?P<line>\d+): )?(?P<target>[^\]]+)\] "
    r"(?P<status>Error \d+|Segmentation fault.*|Killed.*|Interrupt)"
)
_OWN = re.compile(r"^g?make(?:\[\d+\])?: \*\*\* (?P<message>.+?)\.?\s+Stop\.$")
_MAKEFILE = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+): \*\*\* (?P<message>.+?)\.?\s+Stop\.$")


def detect(ctx: Context) -> bool:
    """make marks its own lines with ``***``."""
    return ctx.ran("make", "gmake") or ("*" in ctx.text and ctx.has("*** ") and ctx.has("ake"))


def parse(ctx: Context) -> list[Hit]:
    """Return make's own errors as hits, and failed recipes as weak hits."""
    hits: list[Hit] = []
    for index, line in ctx.lines_with("***"):
        recipe = _RECIPE.match(line)
        if recipe is not None:
            # The position is in file/line; keeping it in the text would make moves look new.
            text = f"[{recipe['target']}] {recipe['status']}"
            failure = ctx.failure(
                "make",
                text,
                file=recipe["file"],
                line=int(recipe["line"]) if recipe["line"] else None,
                error_type=recipe["status"].split(" (")[0],
            )
            hits.append(Hit(index, failure, weak=True))
            continue
        own = _OWN.match(line) or _MAKEFILE.match(line)
        if own is None:
            continue
        groups = own.groupdict()
        message = own["message"]
        failure = ctx.failure(
            "make",
            message,
            file=groups.get("file"),
            line=int(groups["line"]) if groups.get("line") else None,
            error_type=message.split(" '")[0].split(",")[0] if "'" in message else message,
        )
        hits.append(Hit(index, failure))
    return hits
