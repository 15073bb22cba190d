"""Terminal and CI-log clean-up: ANSI escapes, carriage-return redraws, per-line time stamps.

Tools that draw progress bars rewrite a line with ``\\r``; a terminal shows only what was written
last, so that is what we keep. Both passes are skipped when the text holds no ESC or CR, which is
the common case and keeps ``parse_output`` cheap.

CI systems stamp every line of a saved log: GitHub Actions and ``docker logs -t`` with an ISO time
(``2026-11-02T10:11:12.1234567Z ``), Jenkins' timestamper with ``[10:11:12] `` (or a bracketed ISO
time), BuildKit with ``#8 0.512 ``. When most of the first non-empty lines carry the same kind of
stamp, it is removed from every line that has it, so parsers see what the tool printed. GitHub's
``##[group]``-style markers and its closing ``##[error]Process completed with exit code 1.`` go
too (they say nothing about the cause), and other ``##[error]`` lines keep only their text.
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and the two-byte ESC sequences.
# One literal lead byte per pattern lets the regex engine skip plain text quickly.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_C1_CSI = re.compile(r"\x9b[0-?]*[ -/]*[@-~]")
_REDRAWN = re.compile(r"^[^\n]*\r(?=[^\n])", re.MULTILINE)
_ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
_STAMPS = (
    re.compile(rf"^{_ISO} ?", re.MULTILINE),
    re.compile(rf"^\[{_ISO}\] ?", re.MULTILINE),
    re.compile(r"^\[\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\] ?", re.MULTILINE),
    re.compile(r"^\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)? ", re.MULTILINE),
    re.compile(r"^#\d+ \d+\.\d+ ", re.MULTILINE),
)
_SAMPLE_LINES = 20
_GITHUB_MARKERS = re.compile(
    r"^##\[(?:group|endgroup|command|section|debug|notice|warning)\].*$"
    r"|^##\[error\]Process completed with exit code \d+\.$",
    re.MULTILINE,
)


def strip_ansi(text: str) -> str:
    """Remove ANSI colour and cursor escape sequences from ``text``."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\x9b" in text:
        text = _C1_CSI.sub("", text)
    return text


def clean_output(text: str) -> str:
    """Return ``text`` as a terminal would show it: no escapes, no CRLF, no overdrawn progress."""
    text = strip_ansi(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            # A line holding bare CRs keeps only what was drawn after the last one.
            text = _REDRAWN.sub("", text).replace("\r", "")
    return strip_stamps(text)


def strip_stamps(text: str) -> str:
    """Remove the per-line time stamps a CI log adds (see the module docstring)."""
    head = text[:4096]
    sample = [line for line in head.split("\n", _SAMPLE_LINES * 2)[: _SAMPLE_LINES * 2] if line]
    sample = sample[:_SAMPLE_LINES]
    if not sample or not (sample[0][:1].isdigit() or sample[0][:1] in ("[", "#")):
        return text
    for stamp in _STAMPS:
        stamped = sum(1 for line in sample if stamp.match(line))
        if stamped * 2 > len(sample):
            text = stamp.sub("", text)
            if "##[" in text:
                text = _GITHUB_MARKERS.sub("", text).replace("##[error]", "")
            return text
    return text
