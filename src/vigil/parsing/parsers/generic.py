"""The fallback for output no specific parser understood: a handful of best guesses.

Lines are found by keyword (``error``, ``fatal``, ``exception``, ``panic``, ``failed``) on a
lower-cased copy of the text, plus one regex scan for ``name.ext:line`` locations, so unrelated
lines cost nothing. Each candidate is scored, best first:

5. ``path:line[:col]: ...`` with an error word (``src/a.x:3: error: bad``);
4. an exception line (``ValueError: bad``, ``java.lang.IllegalStateException: boom``);
3. ``error: ...``, ``error[X]: ...``, ``ERROR ...``, ``[ERROR] ...``, ``FATAL ...``;
2. ``panic: ...``, ``... failed`` sentences, ``command not found``, ``No such file or directory``,
   ``Permission denied``, ``Segmentation fault``, Perl's ``Died``;
1. a bare ``path:line: message`` that is not a warning or a note.

Counts that say nothing is wrong (``0 errors``, ``no errors``, ``errors: 0``) are skipped. A
message found without a location at the start of its line gets one from ``where``: anywhere in
its own line (which raises its score by one), else after it (a ``-->``/``at`` line, a frame list)
or in a header just before it. At most ``LIMIT`` failures are returned, best score first, then in
output order.
"""

from __future__ import annotations

import re
from dataclasses import replace

from vigil.parsing.failure import Failure
from vigil.parsing.parsers import where
from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.python_frames import short_type

LIMIT = 5
_KEYWORDS = ("error", "fatal", "exception", "panic", "failed", "failure")
# Scanned for only when no line holds one of the keywords above (each scan costs ~0.7 ms on a
# 10,000-line log): a script that died on a missing command often says nothing else.
_TROUBLE_KEYWORDS = (
    "not found",
    "no such file",
    "permission denied",
    "segmentation fault",
    " died",
)
_LOCATED = re.compile(
    r"^\s*(?P<file>(?:[A-Za-z]:)?[^\s:]*[\w/\\]\.[A-Za-z]\w{0,7}):(?P<line>\d+)(?::(?P<col>\d+))?"
    r":?\s+(?:(?:fatal error|error|fatal|ERROR|FATAL|Error)\b:?\s*)?(?P<message>.+)$"
)
_EXCEPTION = re.compile(
    r"(?:^|\s)(?P<type>(?:[a-z_]\w*\.)*[A-Z]\w*(?:Exception|Error))(?::\s+(?P<message>.+))?$"
)
_ERROR_WORD = re.compile(
    r"(?:^|[\s\[(])(?:error|ERROR|Error|FATAL|fatal|Fatal|CRITICAL)(?:\[(?P<code>[^\]]+)\])?"
    r"(?:\]|:|\s)\s*(?P<message>\S.*)$"
)
_PANIC = re.compile(r"(?:^|\s)(?:panic|PANIC):\s*(?P<message>.+)$")
_FAILED = re.compile(r"(?P<message>\S.*\b(?:failed|FAILED|failure)\b.*)$")
_TROUBLE = re.compile(
    r"(?P<message>\S.*\b(?:command not found|[Nn]o such file or directory|[Pp]ermission denied|"
    r"[Ss]egmentation fault|[Dd]ied)\b.*)$"
)
# Log levels that are not errors, and echoed commands (npm's "> ", shell xtrace's "+ ", "$ ").
_NOT_ERRORS = ("warning", "warn ", "note:", "info", "debug", "[info]", "[warning]", "[debug]")
_ECHOES = ("> ", "+ ", "$ ")
_LOCATION_HINT = re.compile(r"\.[A-Za-z]\w{0,7}:\d+(?::\d+)?:? ")
_BENIGN = ("warning", "deprecat", "note", "info", "passed", "skipped", " ok")
_MAX_CANDIDATES = 2000
_ALL_CLEAR = re.compile(r"\b(?:0|no|zero) (?:errors?|failures?|exceptions?)\b|\berrors?: 0\b", re.I)


def detect(ctx: Context) -> bool:
    """The fallback is not detected; the orchestrator runs it when nothing else found anything."""
    return False


def parse(ctx: Context) -> list[Hit]:
    """Return up to ``LIMIT`` best-guess failures, best first."""
    text = ctx.text
    lowered = text.lower()
    candidates: dict[int, str] = {}
    _collect(text, lowered, _KEYWORDS, candidates)
    if not candidates:
        _collect(text, lowered, _TROUBLE_KEYWORDS, candidates)
    for match in _LOCATION_HINT.finditer(text):
        if len(candidates) >= _MAX_CANDIDATES:
            break
        start = text.rfind("\n", 0, match.start()) + 1
        if start not in candidates:
            end = text.find("\n", match.end())
            candidates[start] = text[start : end if end != -1 else len(text)]
    scored: list[tuple[int, int, Hit]] = []
    seen: set[str] = set()
    line_no = 0
    counted = 0
    for start in sorted(candidates):
        found = _score(ctx, candidates[start])
        if found is None:
            continue
        score, failure = found
        if failure.file is None and score >= 2 and where.find(candidates[start]) is not None:
            score = min(score + 1, 5)
        if failure.message in seen:
            continue
        seen.add(failure.message)
        line_no += text.count("\n", counted, start)
        counted = start
        scored.append((score, line_no, Hit(line_no, failure)))
        if len(scored) >= 200:
            break
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [_located(ctx, hit) for _, _, hit in scored[:LIMIT]]


def _collect(text: str, lowered: str, keywords: tuple[str, ...], into: dict[int, str]) -> None:
    """Add every line holding one of ``keywords`` to ``into``, keyed by where it starts."""
    for keyword in keywords:
        pos = lowered.find(keyword)
        while pos != -1:
            start = text.rfind("\n", 0, pos) + 1
            end = text.find("\n", pos)
            if end == -1:
                end = len(text)
            into.setdefault(start, text[start:end])
            pos = lowered.find(keyword, end)


def _located(ctx: Context, hit: Hit) -> Hit:
    """Give a hit without a file the location printed in, after or before its line."""
    if hit.failure.file is not None:
        return hit
    found = where.near(ctx, ctx.lines, hit.line)
    if found is None:
        return hit
    file = ctx.rel(found.file)
    return Hit(hit.line, replace(hit.failure, file=file, line=found.line, column=found.column))


def _score(ctx: Context, line: str) -> tuple[int, Failure] | None:
    stripped = line.strip()
    if not stripped or len(stripped) > 500 or _ALL_CLEAR.search(stripped):
        return None
    lowered = stripped.lower()
    if lowered.startswith(_NOT_ERRORS) or line.startswith(_ECHOES):
        return None
    located = _LOCATED.match(stripped)
    if located is not None:
        severe = any(word in lowered for word in ("error", "fatal", "exception"))
        if not severe and any(word in lowered for word in _BENIGN):
            return None
        column = located["col"]
        failure = ctx.failure(
            "generic",
            located["message"],
            file=located["file"],
            line=int(located["line"]),
            column=int(column) if column else None,
        )
        return (5 if severe else 1), failure
    exception = _EXCEPTION.search(stripped)
    if exception is not None:
        error_type = short_type(exception["type"])
        message = exception["message"] or error_type
        return 4, ctx.failure("generic", message, error_type=error_type)
    word = _ERROR_WORD.search(stripped)
    if word is not None:
        return 3, ctx.failure("generic", word["message"], error_type=word["code"])
    panic = _PANIC.search(stripped)
    if panic is not None:
        return 2, ctx.failure("generic", panic["message"], error_type="panic")
    failed = _FAILED.search(stripped) or _TROUBLE.search(stripped)
    if failed is not None:
        return 2, ctx.failure("generic", failed["message"])
    return None
