"""Does a line belong to a template, and what does the template become if it does?

Two comparisons, both on masked tokens (:mod:`vigil.parsing.logtokens`):

**Same length, position by position** (Drain's comparison, with stricter rules). The share of the
template's words that the line repeats must reach ``SAME_LENGTH_SHARE``. Where they differ, the
template takes a variable, but only where a variable is plausible:

* the line has a variable there (the template's word was one value of it), both are
  identifiers (``chrome.exe`` / ``java.exe``, ``com.a.B`` / ``com.c.D``), or both are units after
  a variable (``<*> KB`` / ``<*> MB``): always;
* two plain words (``root`` / ``uucp``): only when the words say it is a value (see
  :class:`Vocabulary`): the template's word has been a word of another message too (a value
  travels: the user ``root`` fails a password, then fails a PAM check), and the line's word is
  no message's word (``guest`` never seen, where ``true`` / ``false``, ``LOOKING`` /
  ``LEADING`` or ``begin`` / ``end`` are words of many messages); and even then at most one
  such pair per line, never among the template's first two words (the verb and subject of a
  message, Drain's insight), never a key (``key=`` or ``key:``), never inside a fixed phrase
  (three words or more follow it before the next variable or the end: ``stored as bytes in
  memory`` and ``stored as values in memory`` are two messages), and never when one of them is
  a past participle (``VM Resumed`` / ``VM Paused``: what happened is the message);
* punctuation must match exactly: it is the message's structure.

**Different lengths, by alignment** (variable-length values: a host name with or without
a resolved name, a list, a date; details a line may leave out). The template's variables and the
line's variables each absorb one token or more of the other side; a bracket that holds only a
variable (``(<*>)``, ``(<*> KB)``) may be missing on either side (``1190 bytes (1.16 KB) sent``
and ``90 bytes sent`` are one message); everything else must match exactly (or be identifiers).
Every word a variable absorbs beyond its first costs like a mismatch (a unit costs nothing: it
belongs to the value); a variable may not absorb ``=`` (a key of its own) and may not be empty.
The share of words kept must reach ``ALIGNED_SHARE``.

A unit after a variable (``<*> ms``) is part of the value, not a word of the message: it does not
count in the shares.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from vigil.parsing.logtokens import DELIMITERS, UNITS, VAR, is_delimiter

SAME_LENGTH_SHARE = 0.7
ALIGNED_SHARE = 0.8
HEAD_WORDS = 2
FIXED_RUN = 3  # words after a word, up to the next variable or the end, that make it a phrase
MAX_WORD_SWAPS = 1
MAX_LENGTH_GAP = 4  # tokens
MAX_DETAIL_GAP = 8  # tokens, when a side has a detail to leave out: two "(<*> KB)"
MAX_ALIGN_TOKENS = 96

_VERB = re.compile(r"[A-Za-z]{2,}ed[.,;:!]?")


def _is_event_verb(word: str) -> bool:
    """``Started``, ``destroyed.``: a past participle names what happened, not a value."""
    return _VERB.fullmatch(word) is not None


_IDENT = re.compile(r"[\W_]*\w[\w-]*(?:[./\\@]+[\w-]+)+[\W_]*")


@lru_cache(maxsize=65536)
def is_identifier(token: str) -> bool:
    """A dotted, slashed or ``@`` name: ``chrome.exe``, ``com.example.App``, ``a@b``,
    ``com.app/.MainActivity``."""
    return _IDENT.fullmatch(token) is not None


def is_word(token: str) -> bool:
    return token != VAR and not is_delimiter(token)


def is_unit(tokens: Sequence[str], i: int) -> bool:
    """A unit after a variable (``<*> KB``): part of the value, not a word of the message."""
    return i > 0 and tokens[i] in UNITS and tokens[i - 1] == VAR


@dataclass(frozen=True, slots=True)
class Shape:
    """What the comparisons need to know about a template's tokens, computed once per change."""

    tokens: tuple[str, ...]
    words: int
    swappable: tuple[bool, ...]  # may a plain word here be replaced by another plain word?
    wordset: frozenset[str]
    weights: tuple[int, ...]  # 1 for a word of the message, 0 for punctuation and values
    details: int  # brackets holding only a value, which a line may leave out

    @classmethod
    def of(cls, tokens: Sequence[str]) -> Shape:
        toks = tuple(tokens)
        n = len(toks)
        after = [0] * n  # words after each token, up to the next variable or the end
        run = 0
        for i in range(n - 1, -1, -1):
            after[i] = run
            token = toks[i]
            if token == VAR:
                run = 0
            elif token not in DELIMITERS:
                run += 1
        swappable = [False] * n
        weights = [0] * n
        words = 0
        previous = ""
        for i, token in enumerate(toks):
            if token == VAR or token in DELIMITERS or (token in UNITS and previous == VAR):
                previous = token
                continue
            previous = token
            words += 1
            weights[i] = 1
            if words > HEAD_WORDS:
                key = token.endswith(":") or (i + 1 < n and toks[i + 1] == "=")
                swappable[i] = after[i] < FIXED_RUN and not key
        wordset = frozenset(t for t, w in zip(toks, weights, strict=True) if w)
        return cls(toks, words, tuple(swappable), wordset, tuple(weights), count_details(toks))


@dataclass(slots=True)
class Vocabulary:
    """The words of a miner's templates: which words are message text, which are values.

    ``held``: word -> how many templates hold it now; ``ever``: word -> how many templates were
    created holding it. A word that two messages have used is an entity's name when it varies
    (a user, a host), and a word no template holds is no message's text.
    """

    held: Counter[str] = field(default_factory=Counter)
    ever: Counter[str] = field(default_factory=Counter)

    def created(self, words: Iterable[str]) -> None:
        self.held.update(words)
        self.ever.update(words)

    def changed(self, before: Iterable[str], after: frozenset[str]) -> None:
        """A template's words went from ``before`` to ``after`` (a merge turns words into
        variables; ``ever`` keeps them)."""
        held = self.held
        for word in before:
            if word not in after:
                left = held[word] - 1
                if left > 0:
                    held[word] = left
                else:
                    del held[word]
        held.update(after.difference(before))  # none today: a merge adds no word

    def value_swap(self, old: str, new: str) -> bool:
        """May ``old`` (the template's word) and ``new`` (the line's) be two values of one
        slot? ``old`` was a word of another message too; ``new`` is no message's word."""
        return self.ever[old] >= 2 and new not in self.held


def compare_same_length(
    shape: Shape, line: Sequence[str], vocabulary: Vocabulary
) -> tuple[float, list[str] | None]:
    """The share of the template's words the line repeats, and the generalized template; ``(-1,
    None)`` when the line cannot belong to it."""
    tokens = shape.tokens
    if shape.words == 0:
        return (1.0, list(tokens)) if tuple(line) == tokens else (-1.0, None)
    allowed = shape.words - SAME_LENGTH_SHARE * shape.words  # mismatches tolerated
    weights = shape.weights
    merged: list[str] = []
    same = 0
    misses = 0
    swaps = 0
    for i, (a, b) in enumerate(zip(tokens, line, strict=True)):
        if a == b:
            merged.append(a)
            same += weights[i]
            continue
        if a == VAR:
            merged.append(VAR)
            continue
        if is_delimiter(a) or is_delimiter(b):
            return -1.0, None
        merged.append(VAR)
        if b in UNITS and is_unit(tokens, i):
            continue  # "<*> KB" / "<*> MB": one value
        misses += 1
        if misses > allowed:
            return -1.0, None
        if b == VAR or (is_identifier(a) and is_identifier(b)):
            continue
        swaps += 1
        if (
            swaps > MAX_WORD_SWAPS
            or not shape.swappable[i]
            or _is_event_verb(a)
            or _is_event_verb(b)
            or not vocabulary.value_swap(a, b)
        ):
            return -1.0, None
    return same / shape.words, merged


NEG = float("-inf")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def count_details(tokens: Sequence[str]) -> int:
    """How many brackets in ``tokens`` hold only a value (see :func:`optional_length`)."""
    if VAR not in tokens or not any(opener in tokens for opener in _CLOSERS):
        return 0
    return sum(
        1 for i, token in enumerate(tokens) if token in _CLOSERS and optional_length(tokens, i)
    )


def optional_length(tokens: Sequence[str], i: int) -> int:
    """The length of the bracket at ``tokens[i]`` if it holds only a variable, maybe with its
    unit (``(<*>)``, ``(<*> KB)``: a detail a line may leave out); else 0."""
    closer = _CLOSERS.get(tokens[i]) if i + 2 < len(tokens) else None
    if closer is None or tokens[i + 1] != VAR:
        return 0
    if tokens[i + 2] == closer:
        return 3
    if i + 3 < len(tokens) and tokens[i + 2] in UNITS and tokens[i + 3] == closer:
        return 4
    return 0


def compare_aligned(
    shape: Shape,
    line: Sequence[str],
    spaced: Sequence[bool],
    line_tokens: frozenset[str] | None = None,
) -> tuple[float, list[str] | None, list[bool] | None]:
    """Align a template and a line of another length; ``(share, merged, merged_spacing)``.
    ``line_tokens``: ``frozenset(line)``, when the caller has it."""
    a, b = shape.tokens, tuple(line)
    n, m = len(a), len(b)
    if shape.words == 0 or n > MAX_ALIGN_TOKENS or m > MAX_ALIGN_TOKENS:
        return -1.0, None, None
    if VAR not in a and VAR not in b:
        return -1.0, None, None
    if line_tokens is None:
        line_tokens = frozenset(b)
    if len(shape.wordset & line_tokens) < ALIGNED_SHARE * shape.words:
        return -1.0, None, None
    memo: dict[tuple[int, int, bool, bool], tuple[float, float, str]] = {}
    weights = shape.weights

    def best(i: int, j: int, fa: bool, fb: bool) -> tuple[float, float, str]:
        key = (i, j, fa, fb)
        found = memo.get(key)
        if found is not None:
            return found
        result: tuple[float, float, str] = (NEG, 0.0, "")
        if i == n and j == m:
            result = (0.0, 0.0, "")
        else:
            x = a[i] if i < n else None
            y = b[j] if j < m else None
            options: list[tuple[float, float, str]] = []
            if x is not None and y is not None and x != VAR and y != VAR:
                if x == y:
                    k, e, _ = best(i + 1, j + 1, False, False)
                    options.append((k + weights[i], e, "m"))
                elif is_word(x) and is_word(y) and is_identifier(x) and is_identifier(y):
                    k, e, _ = best(i + 1, j + 1, False, False)
                    options.append((k, e, "s"))
            if x == VAR:
                if y is not None and y != "=":
                    k, e, _ = best(i, j + 1, True, False)
                    cost = 1.0 if fa and is_word(y) and y not in UNITS else 0.0
                    options.append((k, e + cost, "a"))  # the template's variable takes y
                if fa:
                    k, e, _ = best(i + 1, j, False, fb)
                    options.append((k, e, "A"))  # ... and stops
            if y == VAR:
                if x is not None and x != "=":
                    k, e, _ = best(i + 1, j, False, True)
                    cost = 1.0 if fb and is_word(x) and x not in UNITS else 0.0
                    options.append((k, e + cost, "b"))  # the line's variable takes x
                if fb:
                    k, e, _ = best(i, j + 1, fa, False)
                    options.append((k, e, "B"))
            if not fa and not fb:
                skip = optional_length(a, i) if x is not None else 0
                if skip:
                    k, e, _ = best(i + skip, j, False, False)
                    options.append((k, e, "o"))  # the line leaves out "(<*>)"
                skip = optional_length(b, j) if y is not None else 0
                if skip:
                    k, e, _ = best(i, j + skip, False, False)
                    options.append((k, e, "O"))  # the template does
            for option in options:
                if option[0] != NEG and (
                    result[0] == NEG or option[0] - option[1] > result[0] - result[1]
                ):
                    result = option
        memo[key] = result
        return result

    kept, extra, _ = best(0, 0, False, False)
    if kept == NEG:
        return -1.0, None, None
    share = kept / (shape.words + extra)
    if share < ALIGNED_SHARE:
        return -1.0, None, None
    merged: list[str] = []
    merged_spaced: list[bool] = []

    def put(token: str, space: bool) -> None:
        if token == VAR and merged and merged[-1] == VAR:
            return
        merged.append(token)
        merged_spaced.append(space)

    i = j = 0
    fa = fb = False
    while not (i == n and j == m):
        step = memo[(i, j, fa, fb)][2]
        if step == "m":
            put(a[i], spaced[j])
            i, j, fa, fb = i + 1, j + 1, False, False
        elif step == "s":
            put(VAR, spaced[j])
            i, j, fa, fb = i + 1, j + 1, False, False
        elif step == "a":
            put(VAR, spaced[j])
            j, fa, fb = j + 1, True, False
        elif step == "A":
            i, fa = i + 1, False
        elif step == "o":
            skip = optional_length(a, i)
            for k in range(i, i + skip):
                put(a[k], k == i or a[k] in UNITS)
            i += skip
        elif step == "O":
            skip = optional_length(b, j)
            for k in range(j, j + skip):
                put(b[k], spaced[k])
            j += skip
        elif step == "b":
            put(VAR, spaced[j])
            i, fa, fb = i + 1, False, True
        else:  # "B"
            j, fb = j + 1, False
    return share, merged, merged_spaced
