"""npm: the ``npm error`` (npm 10+) / ``npm ERR!`` (older) block.

One failure per block: the first line that says what went wrong, with the ``code`` line's value
as ``error_type`` (``missing script`` for a missing script). A script that merely exited non-zero
(``command failed``, ``ELIFECYCLE``, ``Lifecycle script ... failed``) gives a weak hit, since the
script's own output usually holds the real error.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit

_PREFIXES = ("npm error ", "npm ERR! ")
_SKIP = (
    "code ",
    "errno ",
    "path ",
    "syscall ",
    "signal ",
    "command sh ",
    "command ",
    "A complete log",
    "Log files were not written",
    "You can rerun the command",
    "To see a list of scripts",
    "npm run",
    "Did you mean",
    "This is probably not a problem with npm",
    "There is likely additional logging output above",
    "Exit status",
    "workspace ",
    "location ",
    "    at ",
)
_WRAPPER = ("command failed", "Lifecycle script", "Failed at the", "ELIFECYCLE")
_MISSING = re.compile(r'^Missing script: ["\']?(?P<script>[^"\']+)')


def detect(ctx: Context) -> bool:
    """npm prefixes its errors with ``npm error`` or ``npm ERR!``."""
    if ctx.has_error("npm error"):
        return True
    return ctx.has("ERR") and ctx.has("npm ERR!")


def parse(ctx: Context) -> list[Hit]:
    """Return the first npm error block as one hit (weak for a failed script)."""
    entries: list[tuple[int, str]] = []
    for prefix in ("npm error", "npm ERR!"):
        for index, line in ctx.lines_with(prefix):
            if line.startswith(prefix):
                entries.append((index, line[len(prefix) :].strip()))
    if not entries:
        return []
    entries.sort()
    code = next((text[5:].strip() for _, text in entries if text.startswith("code ")), None)
    for index, text in entries:
        if not text or text.startswith(_SKIP) or text == "command failed":
            continue
        missing = _MISSING.match(text)
        if missing is not None:
            failure = ctx.failure("npm", text, error_type="missing script")
            return [Hit(index, failure)]
        weak = code == "ELIFECYCLE" or (code or "").isdigit() or text.startswith(_WRAPPER)
        return [Hit(index, ctx.failure("npm", text, error_type=code), weak=weak)]
    index, text = entries[0]
    failure = ctx.failure("npm", f"npm failed (code {code})" if code else text, error_type=code)
    return [Hit(index, failure, weak=True)]
