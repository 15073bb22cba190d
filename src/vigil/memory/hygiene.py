"""Keeping the knowledge base clean: near-duplicates merged, stale candidates retired, use counted.

- **Near-duplicates**: a new entry whose kind matches an existing one and whose words mostly
  match it (same title once case and spacing are ignored, or a Jaccard similarity of at least
  :data:`DUPLICATE_SIMILARITY` over the words of title and body) is merged into it instead of
  stored again: the existing entry gets ``seen`` + 1, any tags it lacked, and the newcomer's
  provenance appended to ``provenance.merged`` (who, from where, when, its title), so nothing
  about where knowledge came from is lost.
- **Retirement**: a candidate nobody confirmed for ``days`` days (``[memory]
  retire_candidates_days``, 60) is retired: status ``rejected`` with ``provenance.retired_at`` and
  a reason. It stays in the table and in ``vigil kb export``, is never offered as a fix, and
  comes back as a candidate if the learner sees the same fix again.
- **Usage**: ``kb_usage`` counts how often an entry was shown (search results, MCP answers) and
  used (opened with ``kb show``, confirmed); :func:`stats` adds the entries triage offered as
  known fixes (from ``triage.completed`` events) and reports the share ever shown or used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from vigil.clock import isoformat
from vigil.errors import ValidationError
from vigil.memory.tokenizer import NOISE_WORDS, tokens
from vigil.storage import Database

if TYPE_CHECKING:
    from vigil.memory.entry import Entry
    from vigil.memory.knowledge import KnowledgeBase

DUPLICATE_SIMILARITY = 0.8
RETIRED_REASON = "a candidate nobody confirmed in {days} days"


def _words(text: str) -> set[str]:
    return {w for w in tokens(text) if w not in NOISE_WORDS}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the meaningful words of two texts (0..1)."""
    left, right = _words(a), _words(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def near_duplicate(kb: KnowledgeBase, kind: str, title: str, body: str) -> Entry | None:
    """An existing entry of ``kind`` that says the same as ``title`` and ``body``, if any."""
    wanted = " ".join(title.split()).casefold()
    try:
        hits = kb.search(title, limit=10, kind=kind, prefix_last=False, mode="words")
    except ValidationError:
        return None
    text = f"{title}\n{body}"
    for hit in hits:
        entry = hit.entry
        if entry.status == "rejected" and not entry.provenance.get("retired_at"):
            continue
        same_title = " ".join(entry.title.split()).casefold() == wanted
        if same_title or similarity(text, f"{entry.title}\n{entry.body}") >= DUPLICATE_SIMILARITY:
            return entry
    return None


def merge_into(
    kb: KnowledgeBase, entry: Entry, title: str, tags: Iterable[str], origin: Mapping[str, Any]
) -> Entry:
    """Record a near-duplicate in ``entry``: one more sighting, its tags, its provenance."""
    provenance = dict(entry.provenance)
    merged = list(provenance.get("merged") or [])
    merged.append({**{k: v for k, v in origin.items() if v is not None}, "title": title})
    provenance["merged"] = merged[-50:]
    extra = [t for t in tags if t not in entry.tags]
    return kb.update(
        entry.id,
        seen=entry.seen + 1,
        tags=[*entry.tags, *extra] if extra else None,
        provenance=provenance,
    )


def retire_candidates(kb: KnowledgeBase, db: Database, now: datetime, days: int) -> list[str]:
    """Retire candidates not updated (seen, confirmed, edited) for ``days`` days; their ids."""
    cutoff = isoformat(now - timedelta(days=days))
    rows = db.query(
        "SELECT id FROM kb_entries WHERE status = 'candidate' AND updated < ? ORDER BY seq",
        (cutoff,),
    )
    retired: list[str] = []
    for row in rows:
        entry = kb.get(row["id"])
        provenance = {
            **entry.provenance,
            "retired_at": isoformat(now),
            "retired_reason": RETIRED_REASON.format(days=days),
        }
        kb.update(entry.id, status="rejected", provenance=provenance)
        retired.append(entry.id)
    return retired


def revived(entry: Entry) -> Entry:
    """A retired candidate seen again: a candidate once more (its retirement noted)."""
    provenance = {k: v for k, v in entry.provenance.items() if k not in ("retired_at",)}
    provenance["revived_from_retirement"] = entry.provenance.get("retired_at")
    return replace(entry, status="candidate", provenance=provenance)


def record(db: Database, ids: Iterable[str], now: datetime, *, used: bool = False) -> None:
    """Count that these entries were shown (or used). Best effort: never fails the caller."""
    import sqlite3

    from vigil.errors import StorageError

    unique = list(dict.fromkeys(ids))
    if not unique:
        return
    column, stamp = ("used", "last_used") if used else ("shown", "last_shown")
    moment = isoformat(now)
    try:
        with db.transaction() as conn:
            conn.executemany(
                f"INSERT INTO kb_usage (entry_id, {column}, {stamp}) VALUES (?, 1, ?)"
                f" ON CONFLICT (entry_id) DO UPDATE SET {column} = {column} + 1, {stamp} = ?",
                [(entry_id, moment, moment) for entry_id in unique],
            )
    except (StorageError, sqlite3.Error):
        return


def stats(db: Database) -> dict[str, Any]:
    """Counts by kind and status, vectors, and the share of entries ever shown or used."""
    total_row = db.query_one("SELECT count(*) FROM kb_entries")
    total = int(total_row[0]) if total_row is not None else 0
    by_kind = {
        str(r[0]): int(r[1])
        for r in db.query("SELECT kind, count(*) FROM kb_entries GROUP BY kind ORDER BY kind")
    }
    by_status = {
        str(r[0]): int(r[1])
        for r in db.query("SELECT status, count(*) FROM kb_entries GROUP BY status ORDER BY 1")
    }
    retired_row = db.query_one(
        "SELECT count(*) FROM kb_entries WHERE json_extract(provenance, '$.retired_at') IS NOT NULL"
    )
    touched = {
        str(r[0])
        for r in db.query(
            "SELECT u.entry_id FROM kb_usage u JOIN kb_entries e ON e.id = u.entry_id"
            " WHERE u.shown > 0 OR u.used > 0"
        )
    }
    shown_by_triage: set[str] = set()
    for (data,) in db.query(
        "SELECT json_extract(data, '$.known_fixes') FROM events WHERE type = 'triage.completed'"
        " AND json_array_length(json_extract(data, '$.known_fixes')) > 0"
    ):
        for fix in json.loads(data or "[]"):
            if isinstance(fix, dict) and fix.get("id"):
                shown_by_triage.add(str(fix["id"]))
    existing = (
        {
            str(r[0])
            for r in db.query(
                f"SELECT id FROM kb_entries WHERE id IN ({','.join('?' * len(shown_by_triage))})",
                sorted(shown_by_triage),
            )
        }
        if shown_by_triage
        else set()
    )
    ever = touched | existing
    vectors_row = db.query_one("SELECT vectors FROM kb_vector_state")
    return {
        "entries": total,
        "by_kind": by_kind,
        "by_status": by_status,
        "retired": int(retired_row[0]) if retired_row is not None else 0,
        "shown_or_used": len(ever),
        "shown_or_used_share": round(len(ever) / total, 4) if total else None,
        "never_shown": total - len(ever),
        "vectors": int(vectors_row[0]) if vectors_row is not None else 0,
    }
