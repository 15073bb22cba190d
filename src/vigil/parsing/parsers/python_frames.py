"""Reading Python tracebacks: frames, the exception class and its message.

Shared by the pytest, unittest and plain-traceback parsers. A traceback is the
``Traceback (most recent call last):`` header, frames (``  File "x.py", line 3, in f`` followed
by indented source and caret lines), then the exception line at column 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
# ``KeyError: 'x'``, ``json.decoder.JSONDecodeError: ...``, bare ``StopIteration``.
EXCEPTION = re.compile(r"^(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z_]\w*)(?:: ?(?P<message>.*))?$")
CHAINED = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)


@dataclass(frozen=True, slots=True)
class Traceback:
    """One parsed traceback; ``end`` is the index of the line after the exception line."""

    frames: tuple[tuple[str, int | None], ...]
    error_type: str | None
    message: str
    end: int


def short_type(name: str) -> str:
    """Return the class name without its module path (``json.decoder.JSONDecodeError``)."""
    return name.rsplit(".", 1)[-1]


def split_exception(text: str) -> tuple[str, str] | None:
    """Split ``"KeyError: 'x'"`` into ``("KeyError", "'x'")``; None when it is no exception line."""
    match = EXCEPTION.match(text)
    if match is None:
        return None
    name = match["type"]
    if match["message"] is None and not _looks_like_exception_name(name):
        return None
    return short_type(name), (match["message"] or "").strip()


def _looks_like_exception_name(name: str) -> bool:
    return name.endswith(("Error", "Exception", "Exit", "Interrupt", "Iteration", "Warning"))


def read_traceback(lines: list[str], header: int) -> Traceback | None:
    """Read the traceback whose header line is ``lines[header]``; None when it is cut short."""
    frames: list[tuple[str, int | None]] = []
    index = header + 1
    count = len(lines)
    while index < count:
        line = lines[index]
        if not line or line[0] in " \t":
            match = FRAME.match(line) if "File" in line else None
            if match is not None:
                frames.append((match["file"], int(match["line"])))
            index += 1
            continue
        parsed = split_exception(line)
        if parsed is None:
            return None
        error_type, message = parsed
        return Traceback(tuple(frames), error_type, message, index + 1)
    return None


def is_chained(lines: list[str], end: int) -> bool:
    """Return True when another traceback follows, chained to the one ending at ``end``."""
    for index in range(end, min(end + 3, len(lines))):
        line = lines[index].strip()
        if line:
            return line in CHAINED
    return False
