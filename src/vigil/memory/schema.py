"""The knowledge base's tables (migration namespace ``kb``; the list only grows).

``kb_entries`` is the record of truth. Everything else is derived from it by triggers, inside the
statement that changed it, so no code path can forget one and a failed write rolls all of it back:

- ``kb_fingerprints`` and ``kb_tags``: lookup tables built from the entry's JSON arrays;
- ``kb_fts``: an FTS5 index over title, body and tags (external content: it stores no copy);
- ``kb_fts_vocab``: the index's term list, used to expand a prefix into real terms;
- ``kb_stats``: the live entry count, so ranking never has to ``count(*)`` 100k rows.

``seq`` is the stable integer key the FTS index points at; ``id`` is the public ULID.
"""

from __future__ import annotations

from vigil.storage import Migration, sql

NAMESPACE = "kb"

_ENTRIES = """
CREATE TABLE kb_entries (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('fix', 'decision', 'mistake', 'pattern', 'note')),
    title TEXT NOT NULL CHECK (length(title) > 0),
    body TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    fingerprints TEXT NOT NULL DEFAULT '[]'
        CHECK (json_valid(fingerprints) AND json_type(fingerprints) = 'array'),
    status TEXT NOT NULL CHECK (status IN ('active', 'candidate', 'rejected')),
    confidence REAL NOT NULL CHECK (confidence >= 0.0 AND confidence <= 1.0),
    seen INTEGER NOT NULL DEFAULT 0 CHECK (seen >= 0),
    provenance TEXT NOT NULL DEFAULT '{}'
        CHECK (json_valid(provenance) AND json_type(provenance) = 'object'),
    created TEXT NOT NULL,
    updated TEXT NOT NULL
)
"""

MIGRATIONS: list[Migration] = [
    sql(
        _ENTRIES,
        "CREATE INDEX kb_entries_kind_status ON kb_entries (kind, status)",
        "CREATE INDEX kb_entries_updated ON kb_entries (updated)",
        """CREATE TABLE kb_fingerprints (
            fingerprint TEXT NOT NULL,
            entry_id TEXT NOT NULL,
            PRIMARY KEY (fingerprint, entry_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX kb_fingerprints_entry ON kb_fingerprints (entry_id)",
        """CREATE TABLE kb_tags (
            tag TEXT NOT NULL,
            entry_id TEXT NOT NULL,
            PRIMARY KEY (tag, entry_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX kb_tags_entry ON kb_tags (entry_id)",
        "CREATE TABLE kb_stats (one INTEGER PRIMARY KEY CHECK (one = 1), entries INTEGER NOT NULL)",
        "INSERT INTO kb_stats (one, entries) VALUES (1, 0)",
        """CREATE VIRTUAL TABLE kb_fts USING fts5(
            title, body, tags,
            content = 'kb_entries', content_rowid = 'seq',
            tokenize = 'unicode61 remove_diacritics 2'
        )""",
        "CREATE VIRTUAL TABLE kb_fts_vocab USING fts5vocab(kb_fts, row)",
        """CREATE TRIGGER kb_entries_inserted AFTER INSERT ON kb_entries BEGIN
            INSERT INTO kb_fts (rowid, title, body, tags)
                VALUES (new.seq, new.title, new.body, new.tags);
            INSERT INTO kb_fingerprints (fingerprint, entry_id)
                SELECT DISTINCT value, new.id FROM json_each(new.fingerprints);
            INSERT INTO kb_tags (tag, entry_id)
                SELECT DISTINCT value, new.id FROM json_each(new.tags);
            UPDATE kb_stats SET entries = entries + 1;
        END""",
        """CREATE TRIGGER kb_entries_deleted AFTER DELETE ON kb_entries BEGIN
            INSERT INTO kb_fts (kb_fts, rowid, title, body, tags)
                VALUES ('delete', old.seq, old.title, old.body, old.tags);
            DELETE FROM kb_fingerprints WHERE entry_id = old.id;
            DELETE FROM kb_tags WHERE entry_id = old.id;
            UPDATE kb_stats SET entries = entries - 1;
        END""",
        """CREATE TRIGGER kb_entries_text_updated AFTER UPDATE OF title, body, tags ON kb_entries
        BEGIN
            INSERT INTO kb_fts (kb_fts, rowid, title, body, tags)
                VALUES ('delete', old.seq, old.title, old.body, old.tags);
            INSERT INTO kb_fts (rowid, title, body, tags)
                VALUES (new.seq, new.title, new.body, new.tags);
        END""",
        """CREATE TRIGGER kb_entries_fingerprints_updated AFTER UPDATE OF fingerprints ON kb_entries
        BEGIN
            DELETE FROM kb_fingerprints WHERE entry_id = old.id;
            INSERT INTO kb_fingerprints (fingerprint, entry_id)
                SELECT DISTINCT value, new.id FROM json_each(new.fingerprints);
        END""",
        """CREATE TRIGGER kb_entries_tags_updated AFTER UPDATE OF tags ON kb_entries BEGIN
            DELETE FROM kb_tags WHERE entry_id = old.id;
            INSERT INTO kb_tags (tag, entry_id)
                SELECT DISTINCT value, new.id FROM json_each(new.tags);
        END""",
        """CREATE TRIGGER kb_entries_key_frozen BEFORE UPDATE OF id, seq ON kb_entries
        WHEN new.id IS NOT old.id OR new.seq IS NOT old.seq BEGIN
            SELECT RAISE(ABORT, 'knowledge base ids never change');
        END""",
    ),
    # v2: the change a fix made (unified diff text, see vigil.memory.diff); not indexed for search.
    sql("ALTER TABLE kb_entries ADD COLUMN diff TEXT NOT NULL DEFAULT ''"),
    # v3: semantic recall (vectors.py) and hygiene (hygiene.py). A vector goes with the text it
    # was computed from: deleting an entry or changing its title, body or tags deletes it.
    sql(
        """CREATE TABLE kb_vectors (
            seq INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            vector BLOB NOT NULL
        )""",
        """CREATE TABLE kb_vector_state (
            one INTEGER PRIMARY KEY CHECK (one = 1),
            vectors INTEGER NOT NULL,
            version INTEGER NOT NULL
        )""",
        "INSERT INTO kb_vector_state (one, vectors, version) VALUES (1, 0, 0)",
        """CREATE TRIGGER kb_vectors_inserted AFTER INSERT ON kb_vectors BEGIN
            UPDATE kb_vector_state SET vectors = vectors + 1, version = version + 1;
        END""",
        """CREATE TRIGGER kb_vectors_deleted AFTER DELETE ON kb_vectors BEGIN
            UPDATE kb_vector_state SET vectors = vectors - 1, version = version + 1;
        END""",
        """CREATE TRIGGER kb_vectors_updated AFTER UPDATE ON kb_vectors BEGIN
            UPDATE kb_vector_state SET version = version + 1;
        END""",
        """CREATE TRIGGER kb_entries_vector_deleted AFTER DELETE ON kb_entries BEGIN
            DELETE FROM kb_vectors WHERE seq = old.seq;
        END""",
        """CREATE TRIGGER kb_entries_vector_stale AFTER UPDATE OF title, body, tags ON kb_entries
        WHEN new.title IS NOT old.title OR new.body IS NOT old.body OR new.tags IS NOT old.tags
        BEGIN
            DELETE FROM kb_vectors WHERE seq = old.seq;
        END""",
        # How often an entry was shown (search results, briefings, MCP) and used (opened,
        # confirmed): `vigil kb stats` reports the share of entries ever shown or used.
        """CREATE TABLE kb_usage (
            entry_id TEXT PRIMARY KEY,
            shown INTEGER NOT NULL DEFAULT 0,
            used INTEGER NOT NULL DEFAULT 0,
            last_shown TEXT,
            last_used TEXT
        ) WITHOUT ROWID""",
        """CREATE TRIGGER kb_entries_usage_deleted AFTER DELETE ON kb_entries BEGIN
            DELETE FROM kb_usage WHERE entry_id = old.id;
        END""",
    ),
]
