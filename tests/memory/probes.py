"""Looks inside the knowledge base tables, to prove what a write did or did not leave behind."""

from __future__ import annotations

from vigil.storage import Database


def fts_is_consistent(db: Database) -> bool:
    """True when the full-text index matches ``kb_entries`` exactly (raises otherwise)."""
    db.execute("INSERT INTO kb_fts (kb_fts, rank) VALUES ('integrity-check', 1)")
    return True


def table_counts(db: Database) -> dict[str, int]:
    """Row counts of every knowledge base table, to prove a failed write left nothing behind."""
    counts = {}
    for table in ("kb_entries", "kb_fingerprints", "kb_tags"):
        row = db.query_one(f"SELECT count(*) AS n FROM {table}")
        counts[table] = int(row["n"]) if row is not None else -1
    stats = db.query_one("SELECT entries FROM kb_stats")
    counts["kb_stats"] = int(stats["entries"]) if stats is not None else -1
    return counts
