"""Memory: the knowledge base (C13) and what it learns from failures that turn green (C14).

Public surface::

    KnowledgeBase(db, clock)      add/get/list/count/update/remove, search/explain,
                                  for_fingerprints/known_fixes, record_candidate_fix/seen_again/
                                  confirm/reject, export/import_
    Entry, SearchHit, KnownFix    what it returns (each has ``to_dict()``)
    SearchTuning, SearchPlan      the full-text planner's knobs and its explanation

Names resolve on first use (PEP 562), so importing one light submodule (``vigil.memory.entry``
for the kinds, say) does not pull in the whole knowledge base: the CLI starts faster.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # spelt out: the session mark of every command imports this package
if TYPE_CHECKING:
    from typing import Any

    from vigil.memory.entry import (
        FIX_KINDS,
        KINDS,
        SOURCES,
        STATUSES,
        Entry,
        KnownFix,
        SearchHit,
    )
    from vigil.memory.knowledge import ImportReport, KnowledgeBase
    from vigil.memory.search import SearchPlan, SearchTuning

_HOMES = {
    "FIX_KINDS": "entry",
    "KINDS": "entry",
    "SOURCES": "entry",
    "STATUSES": "entry",
    "Entry": "entry",
    "KnownFix": "entry",
    "SearchHit": "entry",
    "ImportReport": "knowledge",
    "KnowledgeBase": "knowledge",
    "SearchPlan": "search",
    "SearchTuning": "search",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'vigil.memory' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vigil.memory.{home}"), name)


__all__ = [
    "FIX_KINDS",
    "KINDS",
    "SOURCES",
    "STATUSES",
    "Entry",
    "ImportReport",
    "KnowledgeBase",
    "KnownFix",
    "SearchHit",
    "SearchPlan",
    "SearchTuning",
]
