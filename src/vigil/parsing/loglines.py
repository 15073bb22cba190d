"""From raw log lines to records: the message, its level and its time; continuation lines joined.

* **Formats.** A JSON object line is read for its message (``message``, ``msg``, ``MESSAGE``
  (journald), ``log``, ``text``...), level (``level``, ``severity``, ``levelname``, journald's
  numeric ``PRIORITY``) and time (``time``, ``timestamp``, ``ts``, ``@timestamp``, journald's
  ``__REALTIME_TIMESTAMP``). Anything else is plain text: its **header** (time, host, pid,
  level, thread, writer) is found by the shapes of its fields (:mod:`vigil.parsing.logheader`,
  and :mod:`vigil.parsing.logprofile` for headers with neither a time nor a level, learned per
  file); what is mined is the message after it (:attr:`LogRecord.headline`). The level is the
  header's, else the first level word (``ERROR``, ``warn``...) in the message's head, else words
  like ``Exception`` or ``failed`` count as error or warning. The time is the header's
  (:mod:`vigil.parsing.logtime`). A JSON message that holds a line of its own (docker) has its
  header read the same way.
* **Records.** A line that starts with white space, ``Caused by:``, ``... 12 more``,
  ``Traceback (most recent call last):``, a Java exception (``java.io.IOException: ...``) or the
  exception line that ends a Python traceback belongs to the record before it
  (:class:`RecordJoiner`).
* **Bad input.** Bytes that are not UTF-8 become U+FFFD, NULs and other control characters are
  dropped, and a record is cut at ``MAX_RECORD_CHARS``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.parsing.logheader import Header, split_header
from vigil.parsing.logprofile import PRIME_LINES, HeaderProfile
from vigil.parsing.logtime import parse_time

MAX_RECORD_CHARS = 64 * 1024
MAX_RECORD_LINES = 200

LEVELS = ("trace", "debug", "info", "notice", "warning", "error", "critical")
_RANK = {name: rank for rank, name in enumerate(LEVELS)}
WARNING_RANK = _RANK["warning"]
ERROR_RANK = _RANK["error"]

_LEVEL_WORDS = {
    "trace": "trace",
    "finest": "trace",
    "finer": "debug",
    "fine": "debug",
    "debug": "debug",
    "dbg": "debug",
    "info": "info",
    "information": "info",
    "informational": "info",
    "notice": "notice",
    "warn": "warning",
    "warning": "warning",
    "err": "error",
    "error": "error",
    "severe": "error",
    "fail": "error",
    "failure": "error",
    "crit": "critical",
    "critical": "critical",
    "fatal": "critical",
    "alert": "critical",
    "emerg": "critical",
    "emergency": "critical",
    "panic": "critical",
}
_SINGLE_LETTER = {"D": "debug", "I": "info", "W": "warning", "E": "error", "F": "critical"}
_SYSLOG_PRIORITY = (
    "critical",
    "critical",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
    "debug",
)
_HEAD = 96  # level words are looked for in the line's first characters
_LEVEL_RE = re.compile(
    r"(?<![\w.-])(?:\[|<|\()?(" + "|".join(sorted(_LEVEL_WORDS, key=len, reverse=True)) + r")"
    r"(?:\]|>|\)|:)?(?![\w.-])",
    re.IGNORECASE,
)
_LETTER_RE = re.compile(r"(?:^|\s)([DIWEF])(?:/|\s)")  # Android's "E/Tag", klog's "E0102"
_ERROR_HINT = re.compile(
    r"\b(?:exception|traceback|error|errors|failed|failure|fatal|panic|segfault|refused|"
    r"denied|unreachable|timed out|timeout|abort(?:ed)?|crash(?:ed)?)\b",
    re.IGNORECASE,
)
_WARNING_HINT = re.compile(
    r"\b(?:warn|warning|deprecated|retry(?:ing)?|slow|degraded|unable|cannot|can't|invalid)\b",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTINUATION = re.compile(
    r"^(?:[ \t]|Caused by:|\.\.\. \d+ (?:more|common frames omitted)|"
    r"Traceback \(most recent call last\):|During handling of the above exception|"
    r"The above exception was the direct cause)"
)
_JAVA_EXCEPTION = re.compile(r"^(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b")
_PY_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b")

_MESSAGE_KEYS = ("message", "msg", "MESSAGE", "log", "text", "event", "body", "Message")
_LEVEL_KEYS = ("level", "severity", "levelname", "lvl", "log.level", "PRIORITY", "Level")
_TIME_KEYS = ("time", "timestamp", "ts", "@timestamp", "datetime", "__REALTIME_TIMESTAMP", "t")

_TIMESTAMP_RES = (
    # 2024-01-02T03:04:05.678Z, 2024-01-02 03:04:05,678 +0100
    (
        re.compile(
            r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
            r"\s?(Z|[+-]\d{2}:?\d{2})?"
        ),
        "iso",
    ),
    # 2005-06-03-15.42.50.675872 (BGL), 2016/09/27 20:30:31
    (re.compile(r"(\d{4})[-/](\d{2})[-/](\d{2})[-/ ](\d{2})[.:](\d{2})[.:](\d{2})"), "iso"),
    # Jun 14 15:16:01 (syslog: no year)
    (
        re.compile(
            r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})"
        ),
        "syslog",
    ),
)
_MONTH_NAMES = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES.split(), 1)}


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log record: the message to mine, its level and time if known, and the raw text."""

    message: str
    level: str | None = None  # one of LEVELS, or None when nothing says
    time: datetime | None = None
    raw: str = ""
    lines: int = 1
    truncated: bool = False
    fields: dict[str, Any] = field(default_factory=dict)
    head: int = 0  # characters of the message's first line that are its header
    component: str | None = None  # what the header names as the writer (logger, program)

    @property
    def headline(self) -> str:
        """The line to mine: the message's first line less its header
        (:mod:`vigil.parsing.logheader`), or for a bare Python traceback its last line (the
        exception)."""
        first, _, rest = self.message.partition("\n")
        if rest and first.startswith("Traceback (most recent call last):"):
            return rest.rsplit("\n", 1)[-1]
        return first[self.head :] if self.head else first

    @property
    def rank(self) -> int:
        """The level's rank (``LEVELS`` order); a record without one ranks as info."""
        return _RANK.get(self.level or "info", _RANK["info"])

    @property
    def severe(self) -> bool:
        """Warning or worse."""
        return self.rank >= WARNING_RANK


def clean(text: str) -> str:
    """Drop control characters (keeping tabs) and the line end."""
    text = text.rstrip("\r\n")
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    return text


def decode(data: bytes) -> str:
    """Bytes of a log into text: UTF-8, with U+FFFD for whatever is not."""
    return data.decode("utf-8", errors="replace")


def parse_record(
    text: str,
    *,
    lines: int = 1,
    truncated: bool = False,
    year: int | None = None,
    profile: HeaderProfile | None = None,
) -> LogRecord:
    """The record for ``text`` (one line, or a first line and its continuations); ``profile``:
    the headers learned from the file so far, for headers that no time or level anchors."""
    if len(text) > MAX_RECORD_CHARS:
        text, truncated = text[:MAX_RECORD_CHARS], True
    first = text.split("\n", 1)[0]
    stripped = first.lstrip()
    if stripped.startswith("{") and stripped.rstrip().endswith("}"):
        record = _json_record(stripped, text, lines, truncated, year)
        if record is not None:
            return record
    header = split_header(first)
    if profile is not None:
        end = profile.end(first)
        if end and not header.end:
            header = Header(end=end)
    return LogRecord(
        message=text,
        level=header.level or level_of(first[header.end :]),
        time=_header_time(first, header, year),
        raw=text,
        lines=lines,
        truncated=truncated,
        head=header.end,
        component=header.component,
    )


def _header_time(line: str, header: Header, year: int | None) -> datetime | None:
    if header.time_start >= 0:
        found = parse_time(line[header.time_start : header.time_end], year)
        if found is not None:
            return found
    elif header.end:
        found = parse_time(line[: header.end], year)  # 081109 203615 ..., an epoch
        if found is not None:
            return found
    return _time_in(line, year)


def level_of(line: str) -> str | None:
    """The level a plain-text line (or message) states in its head, else one guessed from its
    words."""
    head = line[:_HEAD]
    match = _LEVEL_RE.search(head)
    if match is not None:
        return _LEVEL_WORDS[match.group(1).lower()]
    letter = _LETTER_RE.search(head[:40])
    if letter is not None:
        return _SINGLE_LETTER[letter.group(1)]
    if _ERROR_HINT.search(line):
        return "error"
    if _WARNING_HINT.search(line):
        return "warning"
    return None


def time_of(line: str, year: int | None = None) -> datetime | None:
    """The time a line's header states (:func:`vigil.parsing.logtime.parse_time`), else the
    first timestamp in its head, as UTC (naive times are taken as UTC; a time without a year
    gets ``year``, the caller's current one, else 1970)."""
    return _header_time(line, split_header(line), year)


def _time_in(line: str, year: int | None) -> datetime | None:
    head = line[:80]
    for pattern, kind in _TIMESTAMP_RES:
        match = pattern.search(head)
        if match is None:
            continue
        try:
            if kind == "syslog":
                month = _MONTHS[match.group(1)]
                day, hh, mm, ss = (int(g) for g in match.groups()[1:])
                return datetime(year or 1970, month, day, hh, mm, ss, tzinfo=UTC)
            y, mo, d, hh, mm, ss = (int(g) for g in match.groups()[:6])
            fraction = match.group(7) if pattern.groups >= 7 else None
            micros = int((fraction or "0")[:6].ljust(6, "0"))
            moment = datetime(y, mo, d, hh, mm, ss, micros, tzinfo=UTC)
            zone = match.group(8) if pattern.groups >= 8 else None
            if zone and zone != "Z":
                sign = 1 if zone[0] == "+" else -1
                digits = zone[1:].replace(":", "")
                moment -= timedelta(minutes=sign * (int(digits[:2]) * 60 + int(digits[2:4])))
            return moment
        except (ValueError, KeyError):
            continue
    return None


def _json_record(
    first: str, text: str, lines: int, truncated: bool, year: int | None
) -> LogRecord | None:
    try:
        data = json.loads(first)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    message = _first(data, _MESSAGE_KEYS)
    if message is None:
        return None
    if not isinstance(message, str):
        message = json.dumps(message, ensure_ascii=False, default=str)
    message = clean(message)
    header = split_header(message.split("\n", 1)[0])  # a line inside JSON (docker) has one
    level = _json_level(_first(data, _LEVEL_KEYS)) or header.level
    if level is None:
        level = level_of(message[header.end :])
    when = _json_time(_first(data, _TIME_KEYS), year)
    if when is None and header.end:
        when = _header_time(message, header, year)
    rest = text.split("\n", 1)[1] if "\n" in text else ""
    return LogRecord(
        message=message + ("\n" + rest if rest else ""),
        level=level,
        time=when,
        raw=text,
        lines=lines,
        truncated=truncated,
        fields={k: v for k, v in data.items() if k not in _MESSAGE_KEYS},
        head=header.end,
        component=header.component,
    )


def _first(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in data and data[key] not in (None, ""):
            return data[key]
    return None


def _json_level(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        number = int(value)
        if 0 <= number <= 7:  # syslog / journald PRIORITY
            return _SYSLOG_PRIORITY[number]
        # bunyan/pino: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
        return {10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error"}.get(
            number, "critical" if number >= 60 else None
        )
    return _LEVEL_WORDS.get(str(value).strip().lower())


def _json_time(value: Any, year: int | None) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            number = float(value)
            # journald: microseconds; others: seconds or milliseconds since the epoch
            if number > 1e14:
                number /= 1e6
            elif number > 1e11:
                number /= 1e3
            return datetime.fromtimestamp(number, tz=UTC)
        return time_of(str(value), year)
    except (ValueError, OverflowError, OSError):
        return None


class RecordJoiner:
    """Group lines into records: continuation lines join the record before them.

    ``feed(line)`` returns the records completed by that line (the previous record, once a new
    one starts); ``flush()`` returns the one still open. The caller decides when an open record
    is complete for lack of more input (a follower flushes after a short quiet spell).
    """

    def __init__(self, year: int | None = None) -> None:
        self.year = year
        self.profile = HeaderProfile()  # one file's headers
        self._lines: list[str] = []
        self._in_traceback = False
        self._truncated = False

    @property
    def pending(self) -> bool:
        return bool(self._lines)

    def prime(self, lines: Sequence[str]) -> None:
        """The file's first lines, before they are fed: the headers they share are learned
        first (:meth:`vigil.parsing.logprofile.HeaderProfile.prime`)."""
        self.profile.prime(clean(line) for line in lines[:PRIME_LINES])

    def feed(self, line: str, *, truncated: bool = False) -> list[LogRecord]:
        line = clean(line)
        if self._lines and self._continues(line):
            if len(self._lines) < MAX_RECORD_LINES:
                self._lines.append(line)
            else:
                self._truncated = True
            self._truncated = self._truncated or truncated
            return []
        done = self.flush()
        self._lines = [line]
        self._truncated = truncated
        self._in_traceback = line.startswith("Traceback (most recent call last):")
        return done

    def flush(self) -> list[LogRecord]:
        if not self._lines:
            return []
        text = "\n".join(self._lines)
        record = parse_record(
            text,
            lines=len(self._lines),
            truncated=self._truncated,
            year=self.year,
            profile=self.profile,
        )
        self._lines = []
        self._in_traceback = False
        self._truncated = False
        return [record]

    def _continues(self, line: str) -> bool:
        if not line.strip():
            return False
        if _CONTINUATION.match(line) or _JAVA_EXCEPTION.match(line):
            if line.startswith("Traceback"):
                self._in_traceback = True
            return True
        if self._in_traceback and _PY_EXCEPTION.match(line):
            self._in_traceback = False  # the exception line ends a Python traceback
            return True
        return False
