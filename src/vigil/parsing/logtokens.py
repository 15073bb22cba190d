"""Log lines into tokens, with the variable parts masked by their shape (no per-system rules).

A line is cut at white space and at the punctuation that separates fields (``= , ; | " ( ) [ ]
{ } < >``), each of which becomes a token of its own; so ``uid=0`` is ``uid``, ``=``, a value,
and ``key=value`` logs, JSON-ish payloads and bracketed lists line up token by token.

What counts as a variable (``<*>``), by shape alone:

* a token holding a digit (numbers, times, IPs, ids, hex addresses, versions); a token whose
  digit-free parts carry letters keeps them around the hole: ``HTTP/1.1`` is ``HTTP/<*>``,
  ``onExtend:1514038530000`` is ``onExtend:<*>``;
* a path or URL (``/var/log/x``, ``~/x``, ``C:\\x``, ``a/b/c``, ``scheme://...``), even with ``=``
  inside a query string;
* a hex run of 8 or more (``ffffffff``, ``deadbeef``);
* an empty pair of brackets or quotes (``()`` holds a value that happens to be empty);
* a day or month name (``Sun``, ``Jul``, ``PDT``) next to another variable: a date;

and a run of variables, or of variables separated by ``,``, ``;`` or ``|``, is one variable (a
list of any length, a date, a size with its parts).

Every rule looks at the shape of a token, never at which digits it holds, so two lines that differ
only in their digits get the same tokens: the miner's caches rely on it
(:func:`digit_key` is the cheap key that honours it).
"""

from __future__ import annotations

import re
from functools import lru_cache

VAR = "<*>"
DELIMITERS = frozenset('=,;()[]{}<>|"')
_SEPARATORS = frozenset(",;|")
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<", '"': '"'}

# A path or URL: a scheme, an absolute or home path, a Windows drive, or two slashes or more.
_STOP = r"\s\"'()\[\]{}<>,;|"
_PATH = (
    rf"[A-Za-z][\w+.-]*://[^{_STOP}]*"
    rf"|~?/[^{_STOP}]+"
    rf"|[A-Za-z]:\\[^{_STOP}]*"
    rf"|(?:[^{_STOP}=/]*/){{2,}}[^{_STOP}]*"
)
_TOKEN = re.compile(rf"(?P<path>{_PATH})|(?P<word>[^\s=,;()\[\]{{}}<>|\"]+)|(?P<delim>\S)")
_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d+")
_SUBPARTS = re.compile(r"([:@#/\\])")
_VAR_RUN = re.compile(r"(?:<\*>[:@#/\\]*)+<\*>")
_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]{8,}")
_DATE_WORDS = frozenset(
    word
    for base in (
        "mon tue wed thu fri sat sun jan feb mar apr may jun jul aug sep sept oct nov dec "
        "monday tuesday wednesday thursday friday saturday sunday january february march april "
        "june july august september october november december am pm utc gmt "
        "pst pdt mst mdt cst cdt est edt cet cest eet eest bst ist jst"
    ).split()
    for word in (base, base.capitalize(), base.upper())
)
_ZERO_DIGITS = str.maketrans("123456789", "000000000")


def digit_key(line: str) -> str:
    """A cheap cache key: ``line`` with every digit made ``0`` (lines that differ only in digits
    tokenize alike)."""
    return line.translate(_ZERO_DIGITS)


def digit_run_key(line: str) -> str:
    """A coarser cache key: every run of digits made one ``0``."""
    return _DIGITS.sub("0", line)


@lru_cache(maxsize=65536)
def mask_word(word: str) -> str:
    """The token for one word (no white space or field punctuation inside)."""
    if _DIGIT.search(word) is None:
        return VAR if _HEX.fullmatch(word) else word
    if _HEX.fullmatch(word):
        return VAR
    masked = "".join(VAR if _DIGIT.search(part) else part for part in _SUBPARTS.split(word))
    masked = _VAR_RUN.sub(VAR, masked)
    rest = masked.replace(VAR, "")
    if any(ch.isalnum() for ch in rest):
        return masked
    return VAR


def tokenize(line: str) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """The masked tokens of ``line`` and, for each, the span of ``line`` it stands for."""
    raw: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _TOKEN.finditer(line):
        kind = match.lastgroup
        start, end = match.span()
        if kind == "path":
            raw.append(VAR)
        elif kind == "word":
            raw.append(mask_word(match.group()))
        else:
            text = match.group()
            if text in _CLOSERS and raw and raw[-1] == _CLOSERS[text] and spans[-1][1] == start:
                raw.append(VAR)  # an empty pair holds an empty value
                spans.append((start, start))
            raw.append(text)
        spans.append((start, end))
    if not _DATE_WORDS.isdisjoint(raw):
        _mask_dates(raw)
    return _collapse(raw, spans)


def _mask_dates(raw: list[str]) -> None:
    for _ in range(2):  # "Sun Jul  3 10:05:25": Jul next to 3, then Sun next to Jul
        for i, token in enumerate(raw):
            if token in _DATE_WORDS and (
                (i > 0 and raw[i - 1] == VAR) or (i + 1 < len(raw) and raw[i + 1] == VAR)
            ):
                raw[i] = VAR


def _collapse(
    raw: list[str], spans: list[tuple[int, int]]
) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    tokens: list[str] = []
    out_spans: list[tuple[int, int]] = []
    i, n = 0, len(raw)
    while i < n:
        if raw[i] != VAR:
            tokens.append(raw[i])
            out_spans.append(spans[i])
            i += 1
            continue
        j = i + 1
        while j < n:
            if raw[j] == VAR:
                j += 1
            elif raw[j] in _SEPARATORS and j + 1 < n and raw[j + 1] == VAR:
                j += 2
            else:
                break
        tokens.append(VAR)
        out_spans.append((spans[i][0], spans[j - 1][1]))
        i = j
    return tuple(tokens), tuple(out_spans)


def is_delimiter(token: str) -> bool:
    """Field punctuation (``=``, ``(``...): structure, not words."""
    return len(token) == 1 and token in DELIMITERS


def render(tokens: tuple[str, ...] | list[str], spans: tuple[tuple[int, int], ...]) -> str:
    """The template's text: its tokens, with one space where the line had white space."""
    parts: list[str] = []
    last = None
    for token, (start, end) in zip(tokens, spans, strict=True):
        if last is not None and start > last:
            parts.append(" ")
        parts.append(token)
        last = end
    return "".join(parts)
