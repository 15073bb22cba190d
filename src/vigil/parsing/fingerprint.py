"""Fingerprints: the same root cause gets the same hash wherever and whenever it happens.

``failure_fingerprint`` hashes (sha256, first 16 hex chars) these fields, joined by ``\\x1f``:

* the tool and the error type, as parsed;
* the test id, through ``normalize_message`` (so a temp dir in a parametrize id is harmless);
* the file through ``location.project_path`` (see its docstring for the rule: keep the path from
  the last ``src/``, ``tests/``, ``lib/``, ``pkg/`` or ``cmd/`` component, else the basename), and
  never the line or column;
* the message through ``normalize_message``.

``normalize_message`` rewrites what changes between two runs of the same bug and keeps the words
and quoted identifiers that tell two bugs apart. In order:

1. ANSI escapes go;
2. every path-looking token (absolute, ``./``/``../``/``~/``, Windows, ``file://``, or relative with
   a slash and an extension) becomes its ``project_path``, and a ``:line[:col]``, ``(line,col)`` or
   ``:[line,col]`` right after it is dropped; so do ``name.ext:line`` positions without a slash;
3. ISO dates and times (also npm's ``2024-01-02T03_04_05_678Z``), clock times, UUIDs, ``0x``
   addresses, long hex ids (7+ hex digits holding both a digit and a letter), stray ``tmp`` names
   with random letters and ``pytest-N`` names become placeholders;
4. durations (``0.12s``, ``3 ms``), memory sizes (``12 MB``, ``512 bytes``), and the number after
   ``line``/``column``/``col``/``char``/``offset``, ``pid``/``port``/``thread``/``process`` or a
   ``host:port`` become ``<n>``-style placeholders;
5. runs of whitespace collapse to one space.

Other numbers stay: ``assert 1 == 2`` and ``assert 1 == 3`` are different failures.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache

from vigil.parsing.ansi import strip_ansi
from vigil.parsing.failure import Failure
from vigil.parsing.location import project_path

_POSITION = r"(?::\d+(?::\d+)?|\(\d+,\s?\d+\)|:\[\d+,\d+\])?"
_PATH = re.compile(
    r"(?:file://)?"
    r"(?P<path>"
    r"[A-Za-z]:[\\/](?:[\w.@+~ -]+[\\/])*[\w.@+~-]+"  # C:\Users\me\x.py
    r"|(?<![\w.:/])(?:~|\.{1,2})?/(?:[\w.@+~-]+/)*[\w.@+~-]+"  # /abs, ./rel, ../rel, ~/home
    r"|(?<![\w./-])[\w.@+-]+(?:/[\w.@+-]+)*/[\w@+-]*\.[A-Za-z]\w{0,7}(?![\w/])"  # a/b.py
    r")" + _POSITION
)
_NAME_POSITION = re.compile(r"\b([\w-]+\.[A-Za-z]\w{0,7}):\d+(?::\d+)?\b")
_DATETIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T_ ]\d{2}[:_]\d{2}(?:[:_]\d{2})?(?:[.,_]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b")
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
_HEX_ID = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b")
_TEMP_NAME = re.compile(r"\b(?:tmp[\w-]{6,}|pytest-\d+)\b")
_DURATION = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s?"
    r"(?:ms|s|sec|secs|seconds?|µs|us|ns|min|mins|minutes?|h|hrs?|hours?)\b"
)
_SIZE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:[KMGTP]i?B|kB|bytes?|B)\b")
_COUNTER = re.compile(
    r"\b(lines?|columns?|col|char|offset|position|pid|PID|port|thread|tid|process)"
    r"([\s=:#]+)\d+\b"
)
_HOST_PORT = re.compile(r"\b(localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):\d+\b")
_SPACE = re.compile(r"\s+")


def _path_token(match: re.Match[str]) -> str:
    return project_path(match.group("path"))


@lru_cache(maxsize=4096)
def normalize_message(text: str) -> str:
    """Return ``text`` with run-specific details replaced (rules in the module docstring)."""
    text = strip_ansi(text)
    if "/" in text or "\\" in text:
        text = _PATH.sub(_path_token, text)
    if ":" in text:
        text = _NAME_POSITION.sub(r"\1", text)
        text = _DATETIME.sub("<time>", text)
        text = _CLOCK.sub("<time>", text)
    elif "-" in text:
        text = _DATETIME.sub("<time>", text)
    text = _UUID.sub("<uuid>", text)
    text = _ADDRESS.sub("0x<addr>", text)
    text = _HEX_ID.sub("<hex>", text)
    text = _TEMP_NAME.sub("<tmp>", text)
    text = _DURATION.sub("<duration>", text)
    text = _SIZE.sub("<size>", text)
    text = _COUNTER.sub(r"\1\2<n>", text)
    text = _HOST_PORT.sub(r"\1:<port>", text)
    return _SPACE.sub(" ", text).strip()


def failure_fingerprint(failure: Failure) -> str:
    """Return the 16-hex-digit fingerprint of ``failure``'s root cause (no line, no column)."""
    parts = (
        failure.tool,
        failure.error_type or "",
        normalize_message(failure.test) if failure.test else "",
        project_path(failure.file) if failure.file else "",
        normalize_message(failure.message),
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def run_fingerprint(fingerprints: Iterable[str]) -> str:
    """Return one hash for a whole run: the sorted set of distinct fingerprints ("" if none)."""
    distinct = sorted({fp for fp in fingerprints if fp})
    if not distinct:
        return ""
    return hashlib.sha256("\n".join(distinct).encode("ascii")).hexdigest()[:16]
