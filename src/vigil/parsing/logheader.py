"""A log line's header (time, host, pid, level, thread, component...) told from its message, by the
shapes of its fields: no per-format regex, no setting per system.

A line's head is cut into **fields**: a bracketed group (``[IPC Server handler 5 on 62270]``,
``[Sun Dec 04 04:47:44 2005]``, nested ones too), a lone separator (``-``, ``|``, ``--``, ``:``),
or a run of other characters (``|`` ends a field too: ``time|component|pid|message``). Each field
gets a **kind** from its shape alone:

* ``TIME``: a date, a clock time, or both (``2015-10-18``, ``18:01:47,978``,
  ``2005-06-03-15.42.50.675872``, ``17/06/09``, ``2026-11-02T10:11:12.345+01:00``,
  ``02/Nov/2026:10:11:12``), a Unix time in seconds or milliseconds (not after a level: there a
  big number is a count), a bracket holding one, or a month, weekday, AM/PM or zone name with a
  time close by;
* ``LEVEL``: a level word (``INFO``, ``warn``, ``[notice]``, ``[INF]``, ``[Note]``,
  ``[core:error]``, ``<E>``, ``ERROR:``), a syslog
  priority ``<13>``, klog's ``I1102``, or one of ``V D I W E F`` between numbers (Android);
* ``COMPONENT``: a name ending in a colon (``sshd[24200]:``, ``dfs.DataNode$PacketResponder:``,
  ``WindowManager:``, ``main.go:23:``);
* ``SEP``, ``BRACKET`` (a thread, a request context), ``NUMBER`` (anything holding a digit: pids,
  node names, ids, IPs), ``DOTTED`` (``com.example.App``), ``WORD``.

The **header** is the longest run of leading fields that ends on a confirmed field and reads like
a header, left to right:

* a ``TIME`` or a ``LEVEL`` confirms everything before it (a *strong* header), unless three words
  or more came since the last confirmed field (that is a message; three tags in capitals may
  stand before a level in capitals: ``NULL RAS MMCS ERROR``); after a word, a level must be in
  capitals, and a title-case level word that starts the line (``Error reading ...``) is a
  sentence;
* numbers, brackets, separators and up to two words may wait for a later field to confirm them (a
  host, a pid, a node, a ``RAS KERNEL`` before the level); before anything is confirmed, a word
  may wait only as the line's first field in capitals (BGL's ``APPREAD`` label) or after values
  only (an access log's ``10.0.0.7 - frank [...]``);
* once strong, a separator or a component confirms what came before (with at most one word since
  the last confirmed field: a host name, a logger name); a header keeps to one separator (after
  ``time|name|pid|``, ``REPORT :`` and ``action:`` are the message's);
* after the level: a time (klog), a pid, a thread in brackets, a component (``name:`` or a dotted
  name), a context in brackets, separators (``INFO 4242 --- [main] c.e.App : ...``); after a
  separator no ``name:`` (``- Notification: ...`` is the message). After a component only a
  separator or a bracketed number (a kernel timestamp) follows. Then the message starts.

A syslog priority (``<13>``) before all this is the level; Python's default ``LEVEL:name:``
is read as it is.

A line without a time or a level in its head has no header: a message such as ``BLOCK*
NameSystem.addStoredBlock: blockMap updated`` or a file that holds messages only is left whole
(headers with neither are learned per file: :mod:`vigil.parsing.logprofile`). Every rule looks at
a field's shape, never at its digits, so lines that differ only in their digits split alike (the
answer is cached on the head with its digits made ``0``).

What the header holds is kept apart from what is mined. The writer (component) is left out of the
message: loghub's truth, and an operator's, is that one message is one event whoever logs it
(keeping it lowers grouping accuracy on raw files from 0.964 to 0.897 on thirteen loghub systems:
programs share messages, and a component's context brackets vary). The level, the time and the
writer become the record's fields (:func:`vigil.parsing.logtime.parse_time` reads the time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEAD_CHARS = 512  # a header is looked for in the line's first characters
MAX_FIELDS = 16
MAX_WAITING = 5  # fields that may wait for a confirmation
MAX_WORDS = 2  # words among them (a host, "RAS KERNEL")
CACHE_LIMIT = 100_000

# kinds
TIME, LEVEL, COMPONENT, SEP, BRACKET, NUMBER, DOTTED, WORD, TIMEWORD, LETTER = range(10)

LEVEL_WORDS = {
    "trace": "trace",
    "trc": "trace",
    "dbug": "debug",
    "inf": "info",
    "note": "notice",
    "wrn": "warning",
    "wrng": "warning",
    "eror": "error",
    "ftl": "critical",
    "finest": "trace",
    "verbose": "trace",
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
}
LETTER_LEVELS = {
    "V": "trace",
    "D": "debug",
    "I": "info",
    "N": "notice",
    "W": "warning",
    "E": "error",
    "F": "critical",
    "C": "critical",
}
SYSLOG_PRIORITY = (
    "critical",
    "critical",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
    "debug",
)
_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec"
MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES.split(), 1)}
_TIME_WORDS = frozenset(
    word
    for base in (
        _MONTH_NAMES + " sept mon tue wed thu fri sat sun am pm utc gmt z "
        "pst pdt mst mdt cst cdt est edt cet cest eet eest bst ist jst"
    ).split()
    for word in (base, base.capitalize(), base.upper(), base + ",", base.capitalize() + ",")
)
_SEPARATORS = frozenset(("-", "--", "---", "|", ":", "::", "-->", "->", "=>", ">", ">>", "\u2014"))

_CLOCK = r"\d{1,2}:\d{2}(?::\d{1,2})?(?:[.,:]\d{1,9})?"
_LOOSE_CLOCK = r"\d{1,2}:\d{1,2}:\d{1,2}(?:[.,:]\d{1,9})?"  # 23:7:6:86, after a date only
_DOT_CLOCK = r"\d{2}\.\d{2}\.\d{2}(?:\.\d{1,9})?"
_DATE = (
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/]\d{1,2}[-/]\d{2,4}|\d{1,2}\.\d{1,2}\.\d{4}"
    r"|\d{1,2}[-/ ][A-Za-z]{3}[-/ ]\d{2,4})"
)
_ZONE = r"(?:Z|[+-]\d{2}:?\d{2})"
_TIME_BODY = (
    rf"(?:{_DATE}(?:(?:[T_:]|-|\s)?(?:{_LOOSE_CLOCK}|{_CLOCK}|{_DOT_CLOCK}))?"
    rf"|\d{{8}}[-T_:]?(?:{_LOOSE_CLOCK}|{_CLOCK})|{_CLOCK})"
    rf"(?:\s?{_ZONE})?"
)
_TIME_FIELD = re.compile(rf"{_TIME_BODY}[,;]?")
_TIME_INSIDE = re.compile(rf"(?<![\w.:/-]){_TIME_BODY}(?![\w]|:\d)")
_BRACKET = r"\[(?:[^\[\]]|\[(?:[^\[\]]|\[[^\[\]]*\])*\])*\]"
_FIELDS = re.compile(rf"\s*({_BRACKET}[:,]?|\||[^\s|]+)")
_FIELDS_BYTES = re.compile(_FIELDS.pattern.encode())
_COMPONENT = re.compile(
    r"[\w.$@#/\\~+*()\[\]<>{}-]*\w[\w.$@#/\\~+*()\[\]<>{}-]*(?::\d+)*"  # main.go:42
)
_DOTTED = re.compile(r"[A-Za-z_][\w$-]*(?:\.[A-Za-z_][\w$-]*)+")
_KLOG = re.compile(r"[IWEF]\d{4}")
_KLOG_SOURCE = re.compile(r"[\w.-]+:\d+\]")
_PRIORITY = re.compile(r"<(\d{1,3})>\d?")
_PRIORITY_PREFIX = re.compile(r"<(\d{1,3})>")
_LEVEL_INSIDE = re.compile(
    r"\b(" + "|".join(w.upper() for w in sorted(LEVEL_WORDS, key=len, reverse=True)) + r")\b"
)
_DIGIT = re.compile(r"\d")
_EPOCH = re.compile(r"(?:1\d{9}|1\d{12})(?:\.\d{1,9})?[:,]?")  # Unix time, s or ms (2001-2033)
_DAY = re.compile(r"\d{1,2}(?:[-/.]\d{1,2})?")
_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]{8,}")
_PY_DEFAULT = re.compile(r"([A-Z]+):([\w.-]+):")  # Python logging's default "LEVEL:name:message"
_ZERO = bytes.maketrans(b"123456789", b"000000000")  # bytes.translate: ~10x str.translate


@dataclass(frozen=True, slots=True)
class Header:
    """Where the message starts in a line, and what the header said."""

    end: int = 0  # the message is line[end:]
    level: str | None = None  # one of loglines.LEVELS
    component: str | None = None
    time_start: int = -1  # line[time_start:time_end] holds the header's date and time
    time_end: int = -1


NO_HEADER = Header()


def _kind(text: str) -> int:
    """The kind of one field, by its shape."""
    if text in _SEPARATORS:
        return SEP
    first = text[0]
    if first == "[" and text.rstrip(":,")[-1] == "]":
        inner = text.rstrip(":,")[1:-1].strip()
        if not inner:
            return BRACKET
        if inner.lower().rstrip(":").rsplit(":", 1)[-1] in LEVEL_WORDS:  # [notice], [core:error]
            return LEVEL
        if (
            _TIME_INSIDE.search(inner)
            or _EPOCH.fullmatch(inner)
            or (_DIGIT.search(inner) and not _TIME_WORDS.isdisjoint(inner.split()))
        ):
            return TIME
        return BRACKET
    if first == "<" and text[-1] == ">" and len(text) <= 12:
        inner = text[1:-1]
        if inner.isdigit() or inner.lower() in LEVEL_WORDS or inner in LETTER_LEVELS:
            return LEVEL
        return BRACKET
    if first == "<" and _PRIORITY.fullmatch(text):
        return LEVEL
    bare = text.rstrip(",")
    word = bare.rstrip(":")
    if word.isalpha():
        if word.lower() in LEVEL_WORDS and (word.isupper() or word.islower() or word.istitle()):
            return LEVEL
        if len(word) == 1 and word in LETTER_LEVELS and bare == text:
            return LETTER
        if bare in _TIME_WORDS:
            return TIMEWORD
    has_digit = _DIGIT.search(text) is not None
    if has_digit and (_TIME_FIELD.fullmatch(text) or _EPOCH.fullmatch(text)):
        return TIME
    if (
        text.endswith(":")
        and 1 < len(text) <= 100
        and text[-2] != ":"
        and _COMPONENT.fullmatch(text[:-1])
    ):
        return COMPONENT
    if has_digit:
        if _KLOG.fullmatch(text):
            return LEVEL
        if _KLOG_SOURCE.fullmatch(text):
            return COMPONENT
        return NUMBER
    if _HEX.fullmatch(text):
        return NUMBER
    if _DOTTED.fullmatch(bare):
        return DOTTED
    return WORD


_KINDS: dict[bytes, int] = {}


def _kind_of(text: str, key: bytes | None = None) -> int:
    """:func:`_kind`, cached on the text's shape (a kind depends on where digits are, never on
    their values)."""
    if key is None:
        key = _shape_key(text)
    kind = _KINDS.get(key)
    if kind is None:
        if len(_KINDS) >= CACHE_LIMIT:
            _KINDS.clear()
        kind = _KINDS[key] = _kind(text)
    return kind


def _shape_key(text: str) -> bytes:
    return text.encode("utf-8", "replace").translate(_ZERO)


def fields(
    line: str, limit: int = MAX_FIELDS, key: bytes | None = None
) -> list[tuple[int, int, int, str]]:
    """The head's fields: ``(kind, start, end, text)`` each, at most ``limit``. ``key``: the
    head's shape key, when the caller has it."""
    head = line[:HEAD_CHARS]
    if key is None:
        key = _shape_key(head)
    found: list[tuple[int, int, int, str]] = []
    cut = len(line) > HEAD_CHARS
    if len(key) == len(head):  # one byte a character: the key's offsets are the line's
        kinds = _KINDS
        for match in _FIELDS_BYTES.finditer(key):
            start, end = match.span(1)
            if cut and end == HEAD_CHARS:
                break  # a field cut by the head's end is not known
            text = line[start:end]
            shape = match.group(1)
            kind = kinds.get(shape)
            if kind is None:
                kind = _kind_of(text, shape)
            found.append((kind, start, end, text))
            if len(found) >= limit:
                break
        return found
    for wide in _FIELDS.finditer(head):
        start, end = wide.span(1)
        if cut and end == HEAD_CHARS:
            break
        text = wide.group(1)
        found.append((_kind_of(text), start, end, text))
        if len(found) >= limit:
            break
    return found


def _scan(line: str, key: bytes | None = None) -> tuple[int, int, int, int, int, int, int]:
    """``(end, level_start, level_end, component_start, component_end, time_start, time_end)``
    as character offsets (``-1`` when absent; ``end`` 0 when there is no header)."""
    python = _PY_DEFAULT.match(line)
    if python is not None and python.group(1).lower() in LEVEL_WORDS:
        return python.end(), 0, python.end(1), python.start(2), python.end(2), -1, -1
    priority = _PRIORITY_PREFIX.match(line)
    if priority is not None:  # syslog's "<13>" before the header
        return _after_priority(line, priority.end())
    parts = fields(line, MAX_FIELDS, key)
    end = 0
    strong = False
    waiting = words = 0
    shouting = True  # every word waiting is in capitals
    level = component = first_time = last_time = -1
    level_span = (-1, -1)
    after_level = separated = False
    values_only = True  # only numbers and separators so far (an access log's "ip - user [")
    pending = 0  # a number after the level (a pid), kept if a header field follows it
    style = ""  # the separator the header uses, once it used one
    brackets = 0
    count = len(parts)
    i = 0
    while i < count:
        kind, start, stop, text = parts[i]
        if kind == TIMEWORD:  # "Jun 14 15:16:01", "Sun Dec 04 04:47:44", "10:11:12 PM"
            before = parts[i - 1][0] if i else WORD
            soon = any(part[0] == TIME for part in parts[i + 1 : i + 4])
            kind = TIME if before == TIME or soon else WORD
        elif kind == LETTER:  # Android's "1702 2395 D WindowManager:"
            before = parts[i - 1][0] if i else WORD
            kind = LEVEL if before in (NUMBER, TIME) and not after_level else WORD
        if after_level:
            if kind == TIME and text[0] == "[":
                kind = BRACKET  # a thread or context that happens to hold a time
            if kind == SEP:
                end, separated, pending = stop, True, 0
            elif kind == BRACKET and brackets < 2 and not (separated and brackets):
                brackets += 1
                end, pending = stop, 0
            elif component < 0 and (
                (kind == COMPONENT and not separated)
                or (kind == DOTTED and (not separated or _next_kind(parts, i) == SEP))
            ):  # after "---", "c.e.demo.App : ..." but not "- autopurge.interval set to 0"
                component, end, pending = i, stop, 0
                brackets = 1  # one context bracket after the component
            elif (
                kind == TIME and component < 0 and not separated and not _EPOCH.fullmatch(text)
            ):  # klog: "I1102 10:11:12"; a count that looks like a Unix time is the message's
                end, pending = stop, 0
                first_time = i if first_time < 0 else first_time
                last_time = i
            elif kind == NUMBER and not pending and component < 0 and not separated:
                pending = 1
            else:
                break
            i += 1
            continue
        if kind in (TIME, LEVEL):
            if words > MAX_WORDS and not (kind == LEVEL and shouting and words <= MAX_WORDS + 1):
                break  # "NULL RAS MMCS ERROR": three tags before a level, in capitals
            if kind == LEVEL and words and not text.strip("[]<>:,").isupper():
                break  # "host kernel error ...": a message's word, not a level
            if kind == LEVEL and not i and text.isalpha() and text.istitle():
                break  # "Error reading message ...": a sentence, not a level
            end, strong, waiting, words, shouting = stop, True, 0, 0, True
            if kind == LEVEL:
                level, after_level = i, True
            else:
                first_time = i if first_time < 0 else first_time
                last_time = i
                if text[0] == "[" and level < 0:  # "[2026-11-02 10:11:12,345: WARNING/Main]"
                    inside = _LEVEL_INSIDE.search(text)
                    if inside is not None:
                        level_span = (start + inside.start(), start + inside.end())
        elif kind == COMPONENT:
            if not strong or words > 1 or style:
                break  # after "time|name|pid|", "action:" is the message's
            component, end = i, stop
            i += 1
            while i < count and (parts[i][0] == SEP or _is_stamp(parts[i])):
                end = parts[i][2]
                i += 1
            break
        elif kind == SEP:
            if strong:
                if words > 1 or (style and text != style):
                    break  # a header keeps to one separator
                end, waiting, words, style, shouting = stop, 0, 0, text, True
            else:
                waiting += 1  # a BGL line's "-" label, an access log's "ip - -"
        else:
            if not strong and kind in (WORD, DOTTED):
                label = i == 0 and text.isupper()  # BGL's "APPREAD"
                user = i > 0 and values_only and not words  # "10.0.0.7 - frank ["
                if not (label or user):
                    break  # before any time or level, a word is the message's
            waiting += 1
            if kind in (WORD, DOTTED):
                words += 1
                shouting = shouting and text.isupper()
            if waiting > MAX_WAITING or words > MAX_WORDS + shouting:
                break
        values_only = values_only and kind in (NUMBER, SEP)
        i += 1
    if not strong:
        return 0, -1, -1, -1, -1, -1, -1
    while end < len(line) and line[end].isspace():
        end += 1

    def span(index: int) -> tuple[int, int]:
        return (parts[index][1], parts[index][2]) if index >= 0 else (-1, -1)

    if first_time > 0 and (
        _DAY.fullmatch(parts[first_time - 1][3]) or _KLOG.fullmatch(parts[first_time - 1][3])
    ):
        first_time -= 1  # "03-17 16:13:38.811", "02 Nov 2026 10:11:12": the date's start
    time_start = parts[first_time][1] if first_time >= 0 else -1
    time_end = parts[last_time][2] if last_time >= 0 else -1
    if level >= 0:
        level_span = span(level)
    return (end, *level_span, *span(component), time_start, time_end)


def _next_kind(parts: list[tuple[int, int, int, str]], index: int) -> int:
    return parts[index + 1][0] if index + 1 < len(parts) else WORD


def _after_priority(line: str, offset: int) -> tuple[int, int, int, int, int, int, int]:
    rest = list(_scan(line[offset:]))
    shifted = [value + offset if value >= 0 else value for value in rest]
    if not rest[0]:
        shifted[0] = offset
        while shifted[0] < len(line) and line[shifted[0]].isspace():
            shifted[0] += 1
    if shifted[1] < 0:
        shifted[1], shifted[2] = 0, offset
    return shifted[0], shifted[1], shifted[2], shifted[3], shifted[4], shifted[5], shifted[6]


def _is_stamp(field: tuple[int, int, int, str]) -> bool:
    """A bracketed number or time after a component: ``kernel: [12345.678]``."""
    text = field[3]
    if text[0] != "[" or field[0] not in (TIME, BRACKET):
        return False
    inner = text.rstrip(":,")[1:-1].strip()
    return bool(inner) and all(ch.isdigit() or ch in ".:," for ch in inner)


# the head with its digits made 0 -> _scan's answer (offsets do not change with the digits)
_SHAPES: dict[bytes, tuple[int, int, int, int, int, int, int]] = {}


def _lookup(line: str) -> tuple[int, int, int, int, int, int, int]:
    key = _shape_key(line[:HEAD_CHARS])
    found = _SHAPES.get(key)
    if found is None:
        found = _scan(line, key)
        if len(_SHAPES) >= CACHE_LIMIT:
            _SHAPES.clear()
        _SHAPES[key] = found
    return found


def forget() -> None:
    """Empty the shape caches (a benchmark's cold start)."""
    _SHAPES.clear()
    _KINDS.clear()


def header_end(line: str) -> int:
    """Where the message of ``line`` starts (0: no header its own fields anchor)."""
    return _lookup(line)[0]


def message_of(line: str) -> str:
    """``line`` less its header (the whole line when it has none)."""
    end = _lookup(line)[0]
    return line[end:] if end else line


def split_header(line: str) -> Header:
    """The header of ``line``: where its message starts, its level, component and time."""
    end, level_start, level_end, comp_start, comp_end, time_start, time_end = _lookup(line)
    if not end:
        return NO_HEADER
    level = _level(line[level_start:level_end]) if level_start >= 0 else None
    component = None
    if comp_start >= 0:
        component = line[comp_start:comp_end].rstrip(":")
        if component.endswith("]") and "[" not in component:
            component = component[:-1]  # klog's "controller.go:123]"
    return Header(end, level, component, time_start, time_end)


def _level(text: str) -> str | None:
    word = text.strip("[]<>:,").strip()
    if ":" in word and not word[0].isdigit():
        word = word.rsplit(":", 1)[1]  # [core:error]
    if word.isdigit():
        return SYSLOG_PRIORITY[int(word) % 8]
    priority = _PRIORITY.fullmatch(text)
    if priority is not None:
        return SYSLOG_PRIORITY[int(priority.group(1)) % 8]
    if _KLOG.fullmatch(word):
        return LETTER_LEVELS[word[0]]
    return LEVEL_WORDS.get(word.lower()) or LETTER_LEVELS.get(word)
