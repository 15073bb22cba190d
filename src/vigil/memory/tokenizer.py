"""Words as the full-text index sees them, computed in Python.

The index uses SQLite's ``unicode61`` tokenizer with ``remove_diacritics 2``: a token is a run of
letters and digits, lower-cased, with combining marks dropped. This module reproduces that closely
enough to rank and highlight in Python exactly the terms SQLite matched (``Café`` and ``cafe`` are
one term; ``flaky-test`` is two; ``_`` separates).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

_WORD = re.compile(r"[^\W_]+")


def normalize(word: str) -> str:
    """``word`` folded the way the index folds it: lower case, no diacritics."""
    lowered = word.lower()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFD", lowered)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def tokens(text: str) -> list[str]:
    """The normalized words of ``text``, in order."""
    if text.isascii():
        return _WORD.findall(text.lower())
    return [normalize(word) for word in _WORD.findall(text)]


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, normalized word)`` for each word of ``text``."""
    for match in _WORD.finditer(text):
        yield match.start(), match.end(), normalize(match.group())


#: Words that say nothing about *which* failure this is: English function words and the words
#: every tool prints. Ignored when failure output is compared with fixes (not in user searches,
#: where rarity already weighs them down); a small knowledge base has no statistics to learn this.
# fmt: off
NOISE_WORDS = frozenset((
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has",
    "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "may", "more",
    "most", "no", "not", "of", "on", "or", "our", "out", "she", "so", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "to", "too", "up", "was",
    "we", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with",
    "would", "you", "your", "error", "errors", "exception", "failed", "failure", "fail", "fails",
    "failing", "test", "tests", "line", "file", "py", "warning", "traceback", "expected", "got",
))
# fmt: on
