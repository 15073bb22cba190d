"""Memory: the knowledge base (C13) and what it learns from failures that turn green (C14).

Public surface::

    KnowledgeBase(db, clock)      add/get/list/count/update/remove, search/explain,
                                  for_fingerprints/known_fixes, record_candidate_fix/seen_again/
                                  confirm/reject, export/import_
    Entry, SearchHit, KnownFix    what it returns (each has ``to_dict()``)
    SearchTuning, SearchPlan      the full-text planner's knobs and its explanation
"""

from vigil.memory.entry import FIX_KINDS, KINDS, SOURCES, STATUSES, Entry, KnownFix, SearchHit
from vigil.memory.knowledge import ImportReport, KnowledgeBase
from vigil.memory.search import SearchPlan, SearchTuning

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
