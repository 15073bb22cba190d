"""pytest: the FAILURES and ERRORS sections, and the "short test summary info" lines.

Each ``____ test_name ____`` block in FAILURES/ERRORS becomes one failure: the message and the
exception class come from the ``E   `` lines (the first ``Type: message`` line, else the first
``E`` line, e.g. ``assert 0 == 2`` with the type from the block's last location line), the file
and line from the deepest user frame among the block's ``path:line:`` locations. Summary lines
(``FAILED tests/x.py::test_y - msg``) give the full test id, and stand in for blocks that the
``--tb`` mode left out.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.python_frames import FRAME, short_type, split_exception

_SECTION = re.compile(r"^=+ (FAILURES|ERRORS) =+$")
_BLOCK = re.compile(r"^_{3,} (.+?) _{3,}$")
_LOCATION = re.compile(r"^(?P<file>\S.*?):(?P<line>\d+):(?: (?P<rest>.*))?$")
_SUMMARY = re.compile(r"^(?P<kind>FAILED|ERROR) (?P<id>.+?)(?: - (?P<message>.*))?$")
_CLASS_NAME = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z_]\w*$")


def detect(ctx: Context) -> bool:
    """pytest's banners (``= FAILURES =``, ``test session starts``); the hint covers the rest."""
    if ctx.ran("pytest", "py.test") or ctx.has("test session starts"):
        return True
    if ctx.has("FAIL") and (ctx.has("= FAILURES =") or ctx.has("short test summary info")):
        return True
    return ctx.has("ERR") and (ctx.has("= ERRORS =") or ctx.has("ERROR collecting"))


def parse(ctx: Context) -> list[Hit]:
    """Return one hit per failed/errored test block, plus summary lines no block covered."""
    summary = _Summary(_read_summary(ctx))
    hits: list[Hit] = []
    covered: set[str] = set()
    for index, _ in list(ctx.lines_with("= FAILURES =")) + list(ctx.lines_with("= ERRORS =")):
        if _SECTION.match(ctx.lines[index]):
            hits.extend(_read_section(ctx, index + 1, summary, covered))
    for index, test, message in summary.entries:
        if test in covered:
            continue
        covered.add(test)
        error_type = None
        parsed = split_exception(message) if ": " in message else None
        if parsed is not None:
            error_type, message = parsed
        file = test.split("::", 1)[0]
        failure = ctx.failure(
            "pytest", message or test, file=file, test=test, error_type=error_type
        )
        hits.append(Hit(index, failure))
    return hits


class _Summary:
    """The summary lines, indexed by test id and by the id's part after the file."""

    __slots__ = ("by_name", "entries", "messages")

    def __init__(self, entries: list[tuple[int, str, str]]) -> None:
        self.entries = entries
        self.messages = {test: message for _, test, message in entries}
        self.by_name: dict[str, str] = {}
        for _, test, _ in entries:
            self.by_name.setdefault(test.split("::", 1)[-1], test)


def _read_summary(ctx: Context) -> list[tuple[int, str, str]]:
    entries: list[tuple[int, str, str]] = []
    lines = ctx.lines
    for start, _ in ctx.lines_with("short test summary info"):
        for index in range(start + 1, len(lines)):
            line = lines[index]
            if line.startswith(("=", "!")):
                break
            match = _SUMMARY.match(line)
            if match is not None:
                message = (match["message"] or "").removesuffix("...").strip()
                entries.append((index, match["id"], message))
    return entries


def _read_section(ctx: Context, start: int, summary: _Summary, covered: set[str]) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    header: int | None = None
    for index in range(start, len(lines) + 1):
        line = lines[index] if index < len(lines) else "= end ="
        banner = line.startswith("=") and line.endswith("=") and " " in line
        if banner or (line.startswith("___") and _BLOCK.match(line)):
            if header is not None:
                hit = _read_block(ctx, header, index, summary)
                if hit is not None:
                    hits.append(hit)
                    if hit.failure.test:
                        covered.add(hit.failure.test)
            if banner:
                break
            header = index
    return hits


def _read_block(ctx: Context, header: int, end: int, summary: _Summary) -> Hit | None:
    lines = ctx.lines
    title_match = _BLOCK.match(lines[header])
    if title_match is None:
        return None
    title = title_match.group(1)
    frames: list[tuple[str, int | None]] = []
    e_lines: list[str] = []
    last_rest = ""
    for index in range(header + 1, end):
        line = lines[index]
        if not line:
            continue
        first = line[0]
        if first == "E" and (len(line) == 1 or line[1] == " "):
            content = line[1:].strip()
            e_lines.append(content)
            if content.startswith("File "):
                frame = FRAME.match(content)
                if frame is not None:
                    frames.append((frame["file"], int(frame["line"])))
        elif first == "-" and line.startswith("----") and "Captured" in line:
            break
        elif first not in " >_" and ":" in line:
            location = _LOCATION.match(line)
            if location is not None:
                frames.append((location["file"], int(location["line"])))
                last_rest = (location["rest"] or "").strip()
            elif line.lstrip().startswith("File "):
                frame = FRAME.match(line)
                if frame is not None:
                    frames.append((frame["file"], int(frame["line"])))
    error_type, message = _exception_of(e_lines, last_rest)
    test = _test_id(title, frames, summary)
    if not message:
        message = _summary_message(test, summary) or title
    picked = ctx.pick_frame(frames)
    file, line_no = picked if picked is not None else (None, None)
    if file is None and test and "::" in test:
        file = test.split("::", 1)[0]
    failure = ctx.failure(
        "pytest", message, file=file, line=line_no, test=test, error_type=error_type
    )
    return Hit(header, failure)


def _exception_of(e_lines: list[str], last_rest: str) -> tuple[str | None, str]:
    for content in e_lines:
        if ": " in content or content.endswith(("Error", "Exception")):
            parsed = split_exception(content)
            if parsed is not None:
                return parsed
    error_type = short_type(last_rest) if _CLASS_NAME.match(last_rest) else None
    message = next((content for content in e_lines if content), "")
    if error_type is None and message.startswith("assert "):
        error_type = "AssertionError"
    return error_type, message


def _test_id(title: str, frames: list[tuple[str, int | None]], summary: _Summary) -> str:
    if title.startswith("ERROR collecting "):
        return title.removeprefix("ERROR collecting ").strip()
    for prefix in ("ERROR at setup of ", "ERROR at teardown of "):
        if title.startswith(prefix):
            title = title.removeprefix(prefix)
    name, bracket, params = title.partition("[")
    suffix = "::" + name.replace(".", "::") + bracket + params
    # The block's first location is the test file, which tells apart same-named tests.
    in_file = frames[0][0] + suffix if frames and frames[0][0].endswith(".py") else None
    if in_file is not None and in_file in summary.messages:
        return in_file
    found = summary.by_name.get(suffix[2:]) or summary.by_name.get(title)
    return found or in_file or title


def _summary_message(test: str, summary: _Summary) -> str:
    return summary.messages.get(test, "")
