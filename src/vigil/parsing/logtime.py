"""Dates and times as logs write them, read without knowing the format first.

:func:`parse_time` takes the text of a header's time fields (:mod:`vigil.parsing.logheader`) and
finds a clock time (``15:16:01``, ``18:01:47,978``, ``22:15:29:606``, ``15.42.50.675872`` after
a date), the date before it (``2015-10-18``, ``17/06/09``, ``02/Nov/2026``, ``Jun 14``, ``Sun Dec
04``, ``03-17``, ``20171223``, ``081109``) or the year after it (``04:47:44 2005``), and a zone
after it (``Z``, ``+01:00``, ``-0700``). Without a clock: ``081109 203615`` (a packed date and
time) or a Unix time in seconds or milliseconds.

A date without a year gets the caller's (``year``: its clock's current year, else 1970); a
two-digit date is read in the order (``yy/mm/dd``, ``mm/dd/yy``, ``dd/mm/yy``) that is valid and
puts the year nearest the caller's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from vigil.parsing.logheader import MONTHS

_PIECES = re.compile(r"[\s\[\](),:/.\-_]+")
_KLOG_DATE = re.compile(r"[IWEF](\d{2})(\d{2})")
_WEEKDAYS = frozenset(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
_CLOCK_RE = re.compile(
    r"(?<![\d.])(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:[.,:](\d{1,9}))?"
    r"|(?<=\d[-T_ ])(\d{2})\.(\d{2})\.(\d{2})(?:\.(\d{1,9}))?"
)
_ZONE_RE = re.compile(r"^\s*(?:(Z)\b|([+-])(\d{2}):?(\d{2})\b|(UTC|GMT)\b)")
_PACKED = re.compile(r"(?<![\d.])(\d{6}|\d{8})[ T_-](\d{6})(?![\d.])")
_EPOCH = re.compile(r"(?<![\d.])(1\d{9}|[2-3]\d{9}|1\d{12}|[2-3]\d{12})(?![\d.])")


def parse_time(text: str, year: int | None = None) -> datetime | None:
    """The date and time in ``text`` (a header's time fields), as UTC; naive times are taken as
    UTC, a date without a year gets ``year`` (else 1970), and a line with a clock but no date
    none. Two-digit dates are read in the order that puts the year nearest ``year``."""
    clock = _CLOCK_RE.search(text)
    if clock is None:
        return _date_only(text, year)
    groups = clock.groups()
    if groups[0] is not None:
        hh, mm, ss, fraction = groups[0], groups[1], groups[2], groups[3]
    else:
        hh, mm, ss, fraction = groups[4], groups[5], groups[6], groups[7]
    before = text[: clock.start()]
    after = text[clock.end() :]
    date = _date(before, after, year)
    if date is None:
        return None
    y, mo, d = date
    try:
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(y, mo, d, int(hh), int(mm), int(ss or 0), micros, tzinfo=UTC)
    except ValueError:
        return None
    zone = _ZONE_RE.match(after)
    if zone is not None and zone.group(2):
        sign = 1 if zone.group(2) == "+" else -1
        moment -= timedelta(minutes=sign * (int(zone.group(3)) * 60 + int(zone.group(4))))
    return moment


def _date(before: str, after: str, year: int | None) -> tuple[int, int, int] | None:
    numbers: list[str] = []
    month: int | None = None
    for piece in _PIECES.split(before):
        if not piece:
            continue
        if piece[-1] == "T" and piece[:-1].isdigit():
            piece = piece[:-1]  # 2026-11-02T
        klog = _KLOG_DATE.fullmatch(piece)
        if klog is not None:  # klog's "I1102": a level letter and the month and day
            numbers, month = [klog.group(1), klog.group(2)], None
        elif piece.isdigit():
            numbers.append(piece)
        elif piece[:3].lower() in MONTHS and len(piece) in (3, 4, len("september")):
            month = MONTHS[piece[:3].lower()]
            numbers.append("M")
        elif piece.lower()[:3] not in _WEEKDAYS:
            numbers, month = [], None  # a word between: what came before is not this date
    later = re.match(r"\s*(\d{4})\b", after)  # "Sun Dec 04 04:47:44 2005"
    if later is not None and len(numbers) < 3:
        numbers.append(later.group(1))
    if month is not None and numbers.count("M") > 1:
        return None
    return _ymd(numbers[-3:], month, year)


def _ymd(numbers: list[str], month: int | None, year: int | None) -> tuple[int, int, int] | None:
    now = year or 1970  # a date without a year
    pivot = year or 2000  # a two-digit year is read nearest this one
    if len(numbers) == 1 and numbers[0] != "M":
        raw = numbers[0]
        if len(raw) == 8:  # 20171223
            return _valid(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        if len(raw) == 6:  # 081109 (yymmdd)
            return _valid(_century(int(raw[:2]), pivot), int(raw[2:4]), int(raw[4:]))
        return None
    if month is not None:
        rest = [int(n) for n in numbers if n != "M"]
        four = [n for n in rest if n > 31]
        days = [n for n in rest if n <= 31]
        if not days:
            return None
        y = four[0] if four else (_century(rest[-1], pivot) if len(rest) == 2 else now)
        return _valid(y, month, days[0])
    if len(numbers) == 2:  # 03-17 (month-day), no year
        a, b = int(numbers[0]), int(numbers[1])
        return _valid(now, a, b) or _valid(now, b, a)
    if len(numbers) != 3:
        return None
    a, b, c = (int(n) for n in numbers)
    if len(numbers[0]) == 4:
        return _valid(a, b, c)
    if len(numbers[2]) == 4:
        return _valid(c, a, b) if a <= 12 and b > 12 else _valid(c, b, a) or _valid(c, a, b)
    options = [
        (_century(a, pivot), b, c),  # 17/06/09: yy/mm/dd
        (_century(c, pivot), a, b),  # mm/dd/yy
        (_century(c, pivot), b, a),  # dd/mm/yy
    ]
    valid = [o for o in options if _valid(*o) is not None]
    if not valid:
        return None
    return min(valid, key=lambda o: abs(o[0] - pivot))


def _century(two: int, pivot: int) -> int:
    if two >= 100:
        return two
    base = pivot - pivot % 100 + two
    return min((base - 100, base, base + 100), key=lambda y: abs(y - pivot))


def _valid(y: int, m: int, d: int) -> tuple[int, int, int] | None:
    if 1 <= m <= 12 and 1 <= d <= 31 and 1900 <= y <= 2200:
        return y, m, d
    return None


def _date_only(text: str, year: int | None) -> datetime | None:
    packed = _PACKED.search(text)  # 081109 203615, 20081109 203615
    if packed is not None:
        date = _ymd([packed.group(1)], None, year)
        hh, mm, ss = (int(packed.group(2)[k : k + 2]) for k in (0, 2, 4))
        if date is not None and hh < 24 and mm < 60 and ss < 61:
            try:
                return datetime(*date, hh, mm, min(ss, 59), tzinfo=UTC)
            except ValueError:  # 30 February
                pass
    epoch = _EPOCH.search(text)
    if epoch is not None:
        number = int(epoch.group(1))
        return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, tz=UTC)
    return None
