"""Grounding: does a model's text rest on the facts it was given?

The small embedded model writes fluent sentences that need not say anything true. Its answers are
kept only when they mention at least one concrete fact from what Vigil handed it: an event or
knowledge id, a file name, or a test name. An answer that mentions none is discarded and the chain
moves on (ending with the rules provider, which only states facts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ID = re.compile(r"\b(?:ev|kb)_[0-9A-Z]{8,26}\b")
_FILE = re.compile(r"(?<![\w/.-])([\w./-]*?)([\w-]+\.[A-Za-z]{1,6})(?::\d+)?\b")
_TEST = re.compile(r"\btest_\w+|\bTest\w+")
_NOT_FILES = {"e.g", "i.e", "etc.", "vs."}


def facts(texts: Iterable[str]) -> set[str]:
    """Concrete, checkable tokens in ``texts``: ids, file basenames, test names."""
    found: set[str] = set()
    for text in texts:
        found.update(_ID.findall(text))
        found.update(m.group(2) for m in _FILE.finditer(text) if m.group(2) not in _NOT_FILES)
        found.update(_TEST.findall(text))
    return {f for f in found if len(f) >= 4}


def grounded(answer: str, sources: Iterable[str]) -> bool:
    """True when ``answer`` mentions at least one fact found in ``sources``. With no checkable
    fact in the sources (a model that answered without looking anything up) nothing supports
    the answer, so it is not grounded."""
    known = facts(sources)
    if not known:
        return False
    lowered = answer.lower()
    return any(fact.lower() in lowered for fact in known)
