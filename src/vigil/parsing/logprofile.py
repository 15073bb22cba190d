"""Headers without a time or a level, learned from one file's lines.

Most headers say what they are line by line (:mod:`vigil.parsing.logheader`: a time or a level
anchors them). Some do not: ``134681 node-246 unix.hw state_change.unavailable 1077804742 1
Component State Change: ...`` is a log id, a node, a component, a state, a Unix time and a flag
before the message, and nothing in one line tells where the message starts. Across the lines of
one file it shows: the header's fields keep their shapes from line to line while the message
varies.

:class:`HeaderProfile` counts, for lines without an anchored header, the shape class of each of
their first fields: a *value* (holding a digit: an id, a node, a Unix time), a *word* (a name, a
state, a level word), a separator, a bracket. The learned header is the longest run of leading
positions where, in at least ``SHARE`` of those lines, the field is a value, or is a value or a
word (between values only), or is the same separator or bracket. It starts and ends on a value
(never on a word: a message's first words are never cut), and holds at most ``MAX_WORDS`` word
positions and at least two values (three when it holds words). A line whose first field is a value
and whose next fields fit those positions (a value may stand where a word mostly does, and the
other way: node names without digits) loses them; any other line is left whole.

It answers once it has seen ``MIN_LINES`` lines without an anchored header, and keeps counting
(halving the counts every ``DECAY_LINES``, so a file whose format changes is followed). A reader
that has the first lines of a file at hand gives them to :meth:`HeaderProfile.prime` first, so the
first lines are split like the ones after them: a bounded look-ahead; each line's answer is still
given once, when it is asked for.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice

from vigil.parsing.logheader import (
    BRACKET,
    COMPONENT,
    DOTTED,
    LETTER,
    LEVEL,
    NUMBER,
    SEP,
    TIME,
    TIMEWORD,
    WORD,
    fields,
    header_end,
)

MIN_LINES = 24
SHARE = 0.9
MAX_POSITIONS = 8
MAX_WORDS = 2
DECAY_LINES = 4096
PRIME_LINES = 64

VALUE, TEXT, SEPARATOR, GROUP, OTHER = range(5)
_CLASS = {
    NUMBER: VALUE,
    TIME: VALUE,
    LEVEL: TEXT,
    WORD: TEXT,
    DOTTED: TEXT,
    LETTER: TEXT,
    TIMEWORD: TEXT,
    COMPONENT: TEXT,
    SEP: SEPARATOR,
    BRACKET: GROUP,
}


class HeaderProfile:
    """The header shape of one file, learned as its lines go by; see the module docstring."""

    def __init__(self) -> None:
        self._counts = [[0.0] * 5 for _ in range(MAX_POSITIONS)]
        self._seen = 0.0  # lines counted (decayed)
        self._since = 0  # lines since the header was last worked out
        self._total = 0
        self._classes: tuple[int, ...] = ()
        self._began = False  # a line was primed or asked for
        self._primed: deque[str] = deque()  # lines counted by prime, not yet asked for

    @property
    def classes(self) -> tuple[int, ...]:
        """The learned header's classes, one per field (empty: no header learned)."""
        return self._classes

    def prime(self, lines: Iterable[str]) -> None:
        """Learn from the first lines of a file before they are asked for (see the module); only
        before any line was. Each primed line is counted once, here, not again when asked."""
        if self._began:
            return
        self._began = True
        for line in islice(lines, PRIME_LINES):
            if not header_end(line):
                self._observe(_classes_of(line))
            self._primed.append(line)
        self._update()

    def end(self, line: str) -> int:
        """Where the message of ``line`` starts: its anchored header, else the learned one."""
        self._began = True
        end = header_end(line)
        if end:
            return end
        found = fields(line, MAX_POSITIONS)
        classes = tuple(_CLASS.get(kind, OTHER) for kind, _, _, _ in found)
        if not self._was_primed(line):
            self._observe(classes)
        width = len(self._classes)
        if not width or len(found) <= width or classes[0] != VALUE:
            return 0
        for got, want in zip(classes, self._classes, strict=False):
            if got != want and (got not in _FIELD or want not in _FIELD):
                return 0  # a value may stand where a word mostly does, and the other way
        end = found[width - 1][2]
        while end < len(line) and line[end].isspace():
            end += 1
        return end

    def _was_primed(self, line: str) -> bool:
        primed = self._primed
        while primed:
            if primed.popleft() == line:
                return True
        return False

    def messages(self, lines: Iterable[str]) -> list[str]:
        """Each line less its header."""
        out = []
        for line in lines:
            end = self.end(line)
            out.append(line[end:] if end else line)
        return out

    def _observe(self, classes: tuple[int, ...]) -> None:
        counts = self._counts
        for position, cls in enumerate(classes):
            counts[position][cls] += 1.0
        self._seen += 1.0
        self._total += 1
        self._since += 1
        if self._total % DECAY_LINES == 0:
            for row in counts:
                for cls in range(5):
                    row[cls] /= 2.0
            self._seen /= 2.0
        if self._since >= (8 if self._total < 256 else 64):
            self._update()

    def _update(self) -> None:
        self._since = 0
        if self._total < MIN_LINES:
            self._classes = ()
            return
        need = SHARE * self._seen
        classes: list[int] = []
        width = values = words = 0
        for row in self._counts:
            best = max(range(5), key=row.__getitem__)
            if row[VALUE] >= need:
                best = VALUE
            elif row[VALUE] + row[TEXT] >= need and classes:
                best = TEXT  # a name, or a word: only between values
            elif row[best] < need or best not in (SEPARATOR, GROUP):
                break
            if not classes and best != VALUE:
                break  # a header starts with a value (an id, a time, a number)
            classes.append(best)
            if best == TEXT:
                words += 1
                if words > MAX_WORDS:
                    break
            elif best in (VALUE, SEPARATOR):
                values += best == VALUE
                width = len(classes)
        enough = values >= (3 if TEXT in classes[:width] else 2)
        self._classes = tuple(classes[:width]) if enough else ()


_FIELD = (VALUE, TEXT)


def _classes_of(line: str) -> tuple[int, ...]:
    return tuple(_CLASS.get(kind, OTHER) for kind, _, _, _ in fields(line, MAX_POSITIONS))
