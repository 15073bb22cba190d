"""Log lines into tokens, with the variable parts masked by their shape (no per-system rules).

A line is cut at white space and at the punctuation that separates fields (``= , ; | " ( ) [ ]
{ } < >``), each of which becomes a token of its own; so ``uid=0`` is ``uid``, ``=``, a value,
and ``key=value`` logs, JSON-ish payloads and bracketed lists line up token by token.

What counts as a variable (``<*>``), by shape alone:

* a token holding a digit (numbers, times, IPs, ids, hex addresses, versions); a token whose
  digit-free parts carry letters keeps them around the hole: ``HTTP/1.1`` is ``HTTP/<*>``,
  ``onExtend:1514038530000`` is ``onExtend:<*>``, and a dot leader separates too
  (``icbi.........0`` is ``icbi.........<*>``, a key padded to its value);
* but a dotted name with a number after a colon is one value: ``proxy.example.com:5070`` (a host
  and port), ``com.app.Main.run:42`` (a place in code);
* a comparison glued to a number (``<1``, ``>=5``) is part of the value;
* a path or URL (``/var/log/x``, ``~/x``, ``C:\\x``, ``a/b/c``, ``scheme://...``), even with ``=``
  inside a query string;
* a hex run of 8 or more (``ffffffff``, ``deadbeef``);
* an empty pair of brackets or quotes (``()`` holds a value that happens to be empty);
* a day or month name (``Sun``, ``Jul``, ``PDT``) next to another variable: a date;

and a run of variables, or of variables separated by ``,``, ``;`` or ``|``, is one variable (a
list of any length, a date, a size with its parts).

A unit after a number (``5.2 KB``, ``30 ms``) stays a token of its own: the template reads
``<*> KB``; :mod:`vigil.parsing.logmatch` treats it as part of the value (``UNITS``).

Every rule looks at the shape of a token, never at which digits it holds, so two lines that differ
only in their digits get the same tokens: the miner's caches rely on it
(:func:`digit_key` is the cheap key that honours it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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
_WORD = r'[^\s=,;()\[\]{}<>|"]+|[<>]=?(?=[0-9a-fA-F]*[0-9])[^\s=,;()\[\]{}<>|"]+|\S'
_PLAIN = re.compile(rf"(\s*)({_WORD})")
_WITH_PATHS = re.compile(rf"(\s*)(?:({_PATH})|({_WORD}))")
_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"[0-9a-fA-F]*[0-9][0-9a-fA-F]*")  # a number, or hex holding a digit
_SUBPARTS = re.compile(r"([:@#/\\])")
_SUBPARTS_LEADERS = re.compile(r"([:@#/\\]|\.{2,})")  # with dot leaders: "key.....0"
_VAR_RUN = re.compile(r"(?:<\*>(?:[:@#/\\]|\.{2,})*)+<\*>")
# A dotted name with a number after a colon: host:port, Class.method:line.
_ADDRESS = re.compile(r"[\w-]+(?:\.[\w$-]+)+:<\*>")
_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]{8,}")
_DATE_BASES = (
    "mon tue wed thu fri sat sun jan feb mar apr may jun jul aug sep sept oct nov dec "
    "monday tuesday wednesday thursday friday saturday sunday january february march april "
    "june july august september october november december am pm utc gmt "
    "pst pdt mst mdt cst cdt est edt cet cest eet eest bst ist jst"
)
_DATE_WORDS = frozenset(
    word for base in _DATE_BASES.split() for word in (base, base.capitalize(), base.upper())
)
# Units of size and time: after a number, one unit or another is part of the value ("5.2 KB"
# and "93 B" are one value of one kind), see vigil.parsing.logmatch.
UNITS = frozenset(
    {"B", "KB", "MB", "GB", "TB", "PB", "kB", "KiB", "MiB", "GiB", "TiB", "K", "M", "G", "k"}
    | {"ms", "us", "ns", "s", "sec", "secs"}
)
_ZERO_DIGITS = str.maketrans("123456789", "000000000")
_MASKED: dict[str, str] = {VAR: VAR}  # word -> token, shared: masking depends on the word alone
_MASKED_LIMIT = 200_000


def digit_key(line: str) -> str:
    """A cheap cache key: ``line`` with every digit made ``0`` (lines that differ only in digits
    tokenize alike)."""
    return line.translate(_ZERO_DIGITS)


def digit_keys(lines: Sequence[str]) -> list[str]:
    """``digit_key`` of each line, in one pass over their text (one C call, not one per line)."""
    keys = "\n".join(lines).translate(_ZERO_DIGITS).split("\n")
    if len(keys) != len(lines):  # a line with a newline of its own
        keys = [digit_key(line) for line in lines]
    return keys


def digit_run_key(line: str) -> str:
    """A coarser cache key: every run of digits, with the hex letters around it, made one
    ``0`` (``0x7fa3`` and ``12`` alike: both are one variable, wherever they stand)."""
    return _DIGITS.sub("0", line)


def mask_word(word: str) -> str:
    """The token for one word (no white space or field punctuation inside)."""
    if _DIGIT.search(word) is None:
        return VAR if _HEX.fullmatch(word) else word
    if _HEX.fullmatch(word):
        return VAR
    subparts = _SUBPARTS_LEADERS if ".." in word else _SUBPARTS
    masked = "".join(VAR if _DIGIT.search(part) else part for part in subparts.split(word))
    masked = _VAR_RUN.sub(VAR, masked)
    if "." in masked and _ADDRESS.fullmatch(masked):
        return VAR
    rest = masked.replace(VAR, "")
    if any(ch.isalnum() for ch in rest):
        return masked
    return VAR


def tokenize(line: str) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """The masked tokens of ``line`` and, for each, whether white space came before it."""
    raw: list[str] = []
    spaced: list[bool] = []
    if "/" in line or "\\" in line:
        pieces = [(gap, VAR if path else text) for gap, path, text in _WITH_PATHS.findall(line)]
    else:
        pieces = _PLAIN.findall(line)
    known = _MASKED
    for gap, text in pieces:
        token = known.get(text)
        if token is None:
            token = text if len(text) == 1 and text in DELIMITERS else mask_word(text)
            if VAR not in token and len(known) < _MASKED_LIMIT:
                known[text] = token  # words that vary (numbers, ids) are not worth keeping
        if token in _CLOSERS and not gap and raw and raw[-1] == _CLOSERS[token]:
            raw.append(VAR)  # an empty pair holds an empty value
            spaced.append(False)
        raw.append(token)
        spaced.append(bool(gap))
    if not _DATE_WORDS.isdisjoint(raw):
        _mask_dates(raw)
    return _collapse(raw, spaced)


def _mask_dates(raw: list[str]) -> None:
    for _ in range(2):  # "Sun Jul  3 10:05:25": Jul next to 3, then Sun next to Jul
        for i, token in enumerate(raw):
            if token in _DATE_WORDS and (
                (i > 0 and raw[i - 1] == VAR) or (i + 1 < len(raw) and raw[i + 1] == VAR)
            ):
                raw[i] = VAR


def _collapse(raw: list[str], spaced: list[bool]) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    if VAR not in raw:
        return tuple(raw), tuple(spaced)
    tokens: list[str] = []
    out_spaced: list[bool] = []
    i, n = 0, len(raw)
    while i < n:
        if raw[i] != VAR:
            tokens.append(raw[i])
            out_spaced.append(spaced[i])
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
        out_spaced.append(spaced[i])
        i = j
    return tuple(tokens), tuple(out_spaced)


def is_delimiter(token: str) -> bool:
    """Field punctuation (``=``, ``(``...): structure, not words."""
    return len(token) == 1 and token in DELIMITERS


def render(tokens: Sequence[str], spaced: Sequence[bool]) -> str:
    """The template's text: its tokens, with one space where the line had white space."""
    parts: list[str] = []
    for i, (token, space) in enumerate(zip(tokens, spaced, strict=True)):
        if space and i:
            parts.append(" ")
        parts.append(token)
    return "".join(parts)
