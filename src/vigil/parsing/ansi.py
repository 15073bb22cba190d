"""Terminal clean-up: ANSI escape sequences and carriage-return progress redraws.

Tools that draw progress bars rewrite a line with ``\\r``; a terminal shows only what was written
last, so that is what we keep. Both passes are skipped when the text holds no ESC or CR, which is
the common case and keeps ``parse_output`` cheap.
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and the two-byte ESC sequences.
# One literal lead byte per pattern lets the regex engine skip plain text quickly.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_C1_CSI = re.compile(r"\x9b[0-?]*[ -/]*[@-~]")
_REDRAWN = re.compile(r"^[^\n]*\r(?=[^\n])", re.MULTILINE)


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
    return text
