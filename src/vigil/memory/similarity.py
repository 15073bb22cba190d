"""How similar a knowledge entry is to a failure, and whether that is evidence enough to offer it.

A fix linked by fingerprint is the same failure. A fix found by text only shares words, which is
not evidence: two unrelated pytest failures share "assert", a command line and a path prefix. So
a *similar* fix is offered only when the failure and the entry agree on something structural:

- the same test, or the same failing file (``in tests/test_cart.py``);
- the code the failing test is named after (``test_cart.py`` -> ``cart``) is what the fix changed
  or what its own failure tested;
- or the same *specific* error type (``KeyError``, ``ModuleNotFoundError``; not the generic
  ``AssertionError`` or ``error`` every failing test or compiler prints) plus real shared text.

A learned fix carries its failure's facts in ``provenance["failure"]`` (tools, error types,
files, tests, stems: :class:`FailureFacts`); an entry written by hand is judged on its text (it
names the file, the test or the error type).

``similarity`` (0..1) weighs the evidence: test/file/code-under-test 0.4 (0.3 to 0.35 when less
direct), error type 0.25 (0.1 when generic), tool 0.1, shared text 0.25 x its relevance.
``because`` says it in a few words: "same AssertionError in tests/test_cart.py".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from vigil.memory.entry import Entry

#: Error types every failing test or tool prints: they say little about *which* failure it is.
GENERIC_ERRORS = frozenset(
    {
        "assertionerror",
        "assertionfailederror",
        "comparisonfailure",
        "error",
        "errors",
        "exception",
        "failure",
        "failed",
        "fail",
        "panic",
    }
)
_TEST_AFFIXES = re.compile(r"^(test_|tests_)|(_test|_tests|\.test|\.spec|_spec|Test|Tests|IT)$")
_TEXT_BAR = 0.3  # shared-text relevance a specific error type needs beside it


@dataclass(frozen=True, slots=True)
class FailureFacts:
    """What identifies a failure beyond its words (normalized: paths with ``/``, lower-case
    stems; error types as the tool spells them, compared in any case)."""

    tools: tuple[str, ...] = ()
    error_types: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    stems: tuple[str, ...] = ()  # the code the failing tests are named after

    @classmethod
    def of(
        cls,
        *,
        tools: Iterable[str | None] = (),
        error_types: Iterable[str | None] = (),
        files: Iterable[str | None] = (),
        tests: Iterable[str | None] = (),
    ) -> FailureFacts:
        """Facts from raw failure fields (``None`` and blanks ignored, order kept, no repeats)."""
        paths = _unique(_path(f) for f in files if f)
        test_ids = _unique(str(t).strip() for t in tests if t and str(t).strip())
        names = [*paths, *(t.split("::")[0] for t in test_ids)]
        stems = _unique(stem for name in names if (stem := tested_stem(name)))
        return cls(
            tools=_unique(str(t).strip().lower() for t in tools if t and str(t).strip()),
            error_types=_unique(str(e).strip() for e in error_types if e and str(e).strip()),
            files=paths[:20],
            tests=test_ids[:20],
            stems=stems[:20],
        )

    @classmethod
    def from_dict(cls, value: object) -> FailureFacts:
        """Facts from their ``to_dict()`` form; anything malformed is left out."""
        if not isinstance(value, Mapping):
            return cls()

        def strings(key: str) -> tuple[str, ...]:
            items = value.get(key)
            if not isinstance(items, list | tuple):
                return ()
            return tuple(str(item) for item in items if isinstance(item, str) and item)[:20]

        return cls(
            tools=strings("tools"),
            error_types=strings("error_types"),
            files=tuple(_path(f) for f in strings("files")),
            tests=strings("tests"),
            stems=tuple(s.lower() for s in strings("stems")),
        )

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "tools": list(self.tools),
            "error_types": list(self.error_types),
            "files": list(self.files),
            "tests": list(self.tests),
            "stems": list(self.stems),
        }

    @property
    def empty(self) -> bool:
        return not (self.tools or self.error_types or self.files or self.tests)


@dataclass(frozen=True, slots=True)
class Similarity:
    """How similar an entry is to a failure (0..1), why, and whether it passes the bar."""

    score: float
    because: str
    evidence: bool  # structural evidence: offer it as a similar fix


def judge(facts: FailureFacts, entry: Entry, text_score: float) -> Similarity:
    """How similar ``entry`` is to a failure with ``facts``, given its full-text relevance."""
    own = FailureFacts.from_dict(entry.provenance.get("failure"))
    text = " ".join((entry.title, entry.body, " ".join(entry.tags))).lower()
    changed = _changed(entry.provenance)
    where, where_weight = _where(facts, own, text, changed)
    error, error_weight = _error(facts, own, text)
    tool = bool(set(facts.tools) & set(own.tools))
    relevance = max(0.0, min(1.0, text_score))
    score = 0.25 * relevance + where_weight + error_weight + (0.1 if tool else 0.0)
    specific = error is not None and error_weight > 0.1
    evidence = where is not None or (specific and relevance >= _TEXT_BAR)
    because = f"same {error}" if error else ""
    if where:
        joint = " " if where.startswith("in ") else ", "
        because = f"{because}{joint}{where}" if because else where
    if not because and tool:
        because = f"same tool ({', '.join(sorted(set(facts.tools) & set(own.tools)))}) only"
    if not because:
        because = "shares words only" if relevance > 0 else "nothing in common"
    return Similarity(round(min(1.0, score), 3), because, evidence)


def same_failure() -> Similarity:
    """A fingerprint match: the very same failure."""
    return Similarity(1.0, "same failure (fingerprint)", True)


def _where(
    facts: FailureFacts, own: FailureFacts, text: str, changed: list[str]
) -> tuple[str | None, float]:
    for test in facts.tests:
        name = test.split("::")[-1]
        if any(_same_test(test, other) for other in own.tests):
            return f"in {test}", 0.4
        if own.empty and len(name) >= 6 and _word_in(name.lower(), text):
            return f"in {test}", 0.35
    for path in facts.files:
        if any(_same_path(path, other) for other in own.files):
            return f"in {path}", 0.4
        base = PurePosixPath(path).name.lower()
        if own.empty and len(base) >= 4 and _word_in(base, text):
            return f"in {path}", 0.35
    for stem in facts.stems:
        touched = [c for c in changed if _stem(c) == stem]
        if touched:
            return f"its change touched {touched[0]}, the code under test", 0.35
        if stem in own.stems:
            return f"tests the same code ({stem})", 0.3
    return None, 0.0


def _same_test(one: str, other: str) -> bool:
    """The same test id, or the same test name in the same file (paths may differ in prefix)."""
    if one == other:
        return True
    file1, _, name1 = one.rpartition("::")
    file2, _, name2 = other.rpartition("::")
    if name1 != name2:
        return False
    return not file1 or not file2 or _same_path(_path(file1), _path(file2))


def _error(facts: FailureFacts, own: FailureFacts, text: str) -> tuple[str | None, float]:
    theirs = {e.lower() for e in own.error_types}
    for error in facts.error_types:
        low = error.lower()
        if low in theirs or (own.empty and _word_in(low, text)):
            return error, 0.1 if low in GENERIC_ERRORS else 0.25
    return None, 0.0


def _changed(provenance: Mapping[str, Any]) -> list[str]:
    for key in ("relevant", "files"):
        items = provenance.get(key)
        if isinstance(items, list | tuple) and items:
            return [_path(str(item)) for item in items if isinstance(item, str)]
    return []


def _word_in(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w-])", text) is not None


def _path(name: str) -> str:
    text = str(name).replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def _same_path(one: str, other: str) -> bool:
    return one == other or one.endswith("/" + other) or other.endswith("/" + one)


def _stem(path: str) -> str:
    return PurePosixPath(path).name.split(".")[0].lower()


def tested_stem(name: str) -> str | None:
    """The code a test file is named after: ``tests/test_cart.py`` -> ``cart``,
    ``cart_test.go`` -> ``cart``, ``src/cart.test.ts`` -> ``cart``; ``None`` for other names."""
    stem = PurePosixPath(_path(name)).stem
    bare = _TEST_AFFIXES.sub("", stem)
    if not bare or bare == stem:
        return None
    return bare.split(".")[0].lower()


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))
