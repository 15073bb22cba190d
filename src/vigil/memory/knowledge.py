"""The knowledge base: fixes, decisions, mistakes, patterns and notes that outlive a session.

:class:`KnowledgeBase` is synchronous (SQLite); async callers use ``await db.call(kb.search, ...)``.
Every write is one transaction (``BEGIN IMMEDIATE``): the entry, its fingerprint and tag links,
its full-text index rows and the entry count change together or not at all (see ``schema.py``).
Ids are ``kb_`` ULIDs; every method that takes an id also takes a unique prefix of one.

Learning (C14): the learner calls :meth:`KnowledgeBase.record_candidate_fix` when a failure turns
green; the same change seen again for the same fingerprint raises the candidate's confidence
instead of duplicating it; a person then confirms or rejects it. A rejected fix is kept (so the
learner does not propose it again) but never offered as a known fix.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vigil.clock import Clock, isoformat
from vigil.errors import ConfigError, StorageError, ValidationError
from vigil.memory import markdown, table
from vigil.memory.entry import (
    CANDIDATE_CEILING,
    CONFIRMED_FLOOR,
    FIX_KINDS,
    ID_PREFIX,
    MAX_DIFF,
    Entry,
    KnownFix,
    SearchHit,
    change_signature,
    check_body,
    check_confidence,
    check_diff,
    check_fingerprint,
    check_fingerprints,
    check_kind,
    check_provenance,
    check_seen,
    check_status,
    check_tags,
    check_title,
    raised_confidence,
)
from vigil.memory.hybrid import POOL, coverage, fuse
from vigil.memory.hygiene import revived
from vigil.memory.schema import MIGRATIONS, NAMESPACE
from vigil.memory.search import FullTextSearch, SearchPlan, SearchTuning, snippet_of
from vigil.memory.similarity import FailureFacts, judge, same_failure
from vigil.memory.tokenizer import NOISE_WORDS, tokens
from vigil.storage import Database, Redactor, apply_migrations, new_ulid

if TYPE_CHECKING:
    from vigil.memory.vectors import VectorStore

_log = logging.getLogger("vigil.memory")

#: A similar fix (found by text, with structural evidence) must be at least this similar.
MIN_SIMILARITY = 0.3
#: Entries without a vector that a search embeds first (the rest wait for `vigil kb index`).
SYNC_ON_SEARCH = 32

SearchMode = Literal["auto", "words", "hybrid"]

_BEST_FIRST = (
    "CASE status WHEN 'active' THEN 0 ELSE 1 END, confidence DESC, seen DESC, updated DESC,"
    " seq DESC"
)


@dataclass(frozen=True)
class ImportReport:
    """What :meth:`KnowledgeBase.import_` did, by entry id."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...] = ()


class KnowledgeBase:
    """Long-term memory in the state database (tables ``kb_*``, migration namespace ``kb``)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        tuning: SearchTuning | None = None,
        redactor: Redactor | None = None,
        semantic: VectorStore | None = None,
    ) -> None:
        apply_migrations(db, NAMESPACE, MIGRATIONS)
        self._db = db
        self._clock = clock
        # Semantic recall (vectors.py), when the composition root enables it; None: words only.
        self.semantic = semantic
        self.retire_after_days = 60  # [memory] retire_candidates_days, set by the composition root
        # Every write stores (and returns) the entry with its secrets redacted: see _clean.
        self._redactor = redactor if redactor is not None else Redactor.from_environment()
        self._search = FullTextSearch(db, tuning)

    # --- records --------------------------------------------------------------------------------

    def add(
        self,
        kind: str,
        title: str,
        body: str = "",
        tags: Iterable[str] = (),
        fingerprints: Iterable[str] = (),
        status: str = "active",
        confidence: float = 1.0,
        provenance: Mapping[str, Any] | None = None,
        *,
        seen: int = 0,
    ) -> Entry:
        """Store a new entry; every field is validated first (``ValidationError``)."""
        now = self._now()
        entry = Entry(
            id=self._new_id(),
            kind=check_kind(kind),
            title=check_title(title),
            body=check_body(body),
            tags=check_tags(tags),
            fingerprints=check_fingerprints(fingerprints),
            status=check_status(status),
            confidence=check_confidence(confidence),
            seen=check_seen(seen),
            provenance=check_provenance(provenance),
            created=now,
            updated=now,
        )
        entry = self._clean(entry)
        with self._writing() as conn:
            table.insert(conn, entry)
        return entry

    @property
    def db(self) -> Database:
        return self._db

    @property
    def clock(self) -> Clock:
        return self._clock

    def get(self, id: str) -> Entry:
        """The entry with this id or unique id prefix (``NotFoundError``, ``UsageError``)."""
        return table.to_entry(self._resolve(None, id))

    def list(
        self,
        kind: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        limit: int | None = 100,
    ) -> builtins.list[Entry]:
        """Entries, most recently updated first, optionally of one kind, status or tag."""
        where, params = table.where(kind, status, tag)
        rows = self._db.query(
            f"SELECT * FROM kb_entries{where} ORDER BY updated DESC, seq DESC LIMIT ?",
            [*params, -1 if limit is None else max(0, limit)],
        )
        return [table.to_entry(row) for row in rows]

    def count(
        self, kind: str | None = None, status: str | None = None, tag: str | None = None
    ) -> int:
        """How many entries match (all of them by default)."""
        where, params = table.where(kind, status, tag)
        row = self._db.query_one(f"SELECT count(*) AS n FROM kb_entries{where}", params)
        return int(row["n"]) if row is not None else 0

    def update(
        self,
        id: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        body: str | None = None,
        tags: Iterable[str] | None = None,
        fingerprints: Iterable[str] | None = None,
        status: str | None = None,
        confidence: float | None = None,
        seen: int | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Change the given fields (others stay); returns the stored entry."""
        changes: dict[str, Any] = {}
        if kind is not None:
            changes["kind"] = check_kind(kind)
        if title is not None:
            changes["title"] = check_title(title)
        if body is not None:
            changes["body"] = check_body(body)
        if tags is not None:
            changes["tags"] = check_tags(tags)
        if fingerprints is not None:
            changes["fingerprints"] = check_fingerprints(fingerprints)
        if status is not None:
            changes["status"] = check_status(status)
        if confidence is not None:
            changes["confidence"] = check_confidence(confidence)
        if seen is not None:
            changes["seen"] = check_seen(seen)
        if provenance is not None:
            changes["provenance"] = check_provenance(provenance)
        with self._writing() as conn:
            old = table.to_entry(self._resolve(conn, id))
            return self._store(conn, old, replace(old, **changes))

    def remove(self, id: str) -> Entry:
        """Delete an entry (and its links and index rows); returns what was removed."""
        with self._writing() as conn:
            old = table.to_entry(self._resolve(conn, id))
            conn.execute("DELETE FROM kb_entries WHERE id = ?", (old.id,))
        return old

    # --- finding --------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 10,
        kind: str | None = None,
        include_rejected: bool = False,
        *,
        prefix_last: bool = True,
        mode: SearchMode = "auto",
    ) -> builtins.list[SearchHit]:
        """Entries matching ``query``, most relevant first.

        ``query`` is plain text, never FTS syntax: punctuation separates words, ``word*`` matches
        a prefix, and so does an unfinished last word unless ``prefix_last`` is off. A query with
        no letters or digits raises ``ValidationError``.

        ``mode``: ``"words"`` (full text only), ``"hybrid"`` (full text and meaning fused, see
        :mod:`vigil.memory.hybrid`; needs semantic recall), or ``"auto"`` (hybrid when semantic
        recall is enabled and its model loads, else words: search never fails for want of it).
        """
        kinds = None if kind is None else {check_kind(kind)}
        if mode != "words" and self.semantic is not None:
            hits = self._hybrid(query, limit, kinds, include_rejected, prefix_last, mode)
            if hits is not None:
                return hits
        elif mode == "hybrid":
            raise ConfigError('semantic recall is off: [memory] semantic = "off" in config.toml')
        ranked = self._search.run(
            query,
            limit=limit,
            kinds=kinds,
            include_rejected=include_rejected,
            prefix_last=prefix_last,
        )
        return [SearchHit(table.to_entry(r.row), r.score, r.snippet) for r in ranked]

    def index(self, limit: int | None = None) -> int:
        """Compute missing vectors (all, or ``limit``) when semantic recall is on; how many."""
        if self.semantic is None:
            return 0
        return self.semantic.sync(limit)

    def _hybrid(
        self,
        query: str,
        limit: int,
        kinds: set[str] | None,
        include_rejected: bool,
        prefix_last: bool,
        mode: SearchMode,
    ) -> builtins.list[SearchHit] | None:
        """Hybrid search; ``None`` in ``auto`` mode when the model cannot be used (logged)."""
        if limit < 1:
            raise ValidationError("search limit must be at least 1", limit=limit)
        semantic = self.semantic
        if semantic is None:  # pragma: no cover - checked by the caller
            return None
        words = self._search.run(
            query,
            limit=max(POOL, limit),
            kinds=kinds,
            include_rejected=include_rejected,
            prefix_last=prefix_last,
        )
        try:
            with contextlib.suppress(StorageError):  # a read-only store: search what is there
                semantic.sync(SYNC_ON_SEARCH)
            near = semantic.nearest(query, POOL + 20)
        except ConfigError as exc:
            if mode == "hybrid":
                raise
            _log.warning("semantic recall unavailable, searching words only: %s", exc)
            self.semantic = None
            return None
        by_seq = {int(r.row["seq"]): r for r in words}
        wanted = [n.seq for n in near if n.seq not in by_seq]
        rows = {int(row["seq"]): row for row in self._search.rows(wanted)}
        meaning: builtins.list[tuple[int, float]] = []
        for n in near:
            row = by_seq[n.seq].row if n.seq in by_seq else rows.get(n.seq)
            if row is None or (kinds is not None and row["kind"] not in kinds):
                continue
            if row["status"] == "rejected" and not include_rejected:
                continue
            rows[n.seq] = row
            meaning.append((n.seq, n.similarity))
        asked = [w for w in dict.fromkeys(tokens(query)) if w not in NOISE_WORDS]
        covered = {
            seq: coverage(asked, tokens(f"{r.row['title']} {r.row['tags']} {r.row['body']}"))
            for seq, r in by_seq.items()
        }
        fused = fuse([(seq, r.score) for seq, r in by_seq.items()], meaning[:POOL], limit, covered)
        hits: builtins.list[SearchHit] = []
        for item in fused:
            ranked = by_seq.get(item.key)
            row = ranked.row if ranked is not None else rows[item.key]
            text = ranked.snippet if ranked is not None else snippet_of(row["body"])
            hits.append(SearchHit(table.to_entry(row), item.score, text, item.match))
        return hits

    def explain(self, query: str, *, prefix_last: bool = True) -> SearchPlan:
        """How :meth:`search` would run ``query``: each word's frequency and the strategy."""
        return self._search.plan(query, prefix_last=prefix_last)

    def for_fingerprints(self, fingerprints: str | Iterable[str]) -> builtins.list[Entry]:
        """Entries linked to any of these fingerprints, best first; rejected ones never."""
        wanted = check_fingerprints(
            [fingerprints] if isinstance(fingerprints, str) else fingerprints
        )
        if not wanted:
            return []
        rows = self._db.query(
            "SELECT * FROM kb_entries WHERE status != 'rejected' AND id IN (SELECT entry_id FROM"
            f" kb_fingerprints WHERE fingerprint IN ({','.join('?' * len(wanted))}))"
            f" ORDER BY {_BEST_FIRST}",
            wanted,
        )
        return [table.to_entry(row) for row in rows]

    def known_fixes(
        self,
        fingerprints: str | Iterable[str],
        text: str,
        limit: int = 5,
        *,
        min_score: float = 0.2,
        facts: FailureFacts | None = None,
    ) -> builtins.list[KnownFix]:
        """What the KB knows about a failure: linked entries first, then similar fixes.

        Fingerprint matches (score = confidence, similarity 1) come first, best first. Then
        fixes, mistakes and patterns whose text resembles ``text`` (the failure's messages; its
        12 most distinctive words are used, noise such as "in", "error" or "test" left out).
        Without ``facts`` a similar fix needs relevance >= ``min_score`` and its similarity is
        that relevance; with the failure's ``facts`` it must also pass the bar of evidence of
        :mod:`vigil.memory.similarity` (same test or file, the code under test, or a specific
        error type) and its similarity weighs that evidence. A similar fix's score is
        similarity x confidence. Rejected entries never appear, and no entry appears twice.
        """
        exact = same_failure()
        found = [
            KnownFix(e, "fingerprint", e.confidence, exact.score, exact.because)
            for e in self.for_fingerprints(fingerprints)
        ]
        found = found[:limit]
        if len(found) >= limit or not text.strip():
            return found
        taken = {fix.entry.id for fix in found}
        try:
            ranked = self._search.run(
                text,
                limit=(limit * 3 if facts is not None else limit) + len(taken),
                kinds=FIX_KINDS,
                prefix_last=False,
                max_words=12,
                ignore=NOISE_WORDS,
            )
        except ValidationError:  # the text has no words: nothing to compare
            return found
        similar: builtins.list[KnownFix] = []
        for r in ranked:
            entry = table.to_entry(r.row)
            if entry.id in taken:
                continue
            if facts is None:
                if r.score >= min_score:
                    similar.append(
                        KnownFix(entry, "text", r.score * entry.confidence, r.score, "shares words")
                    )
                continue
            judged = judge(facts, entry, r.score)
            if judged.evidence and judged.score >= MIN_SIMILARITY:
                similar.append(
                    KnownFix(
                        entry,
                        "text",
                        judged.score * entry.confidence,
                        judged.score,
                        judged.because,
                    )
                )
        similar.sort(key=lambda fix: -fix.score)
        return found + similar[: limit - len(found)]

    # --- learning -------------------------------------------------------------------------------

    def record_candidate_fix(
        self,
        fingerprint: str,
        title: str,
        body: str,
        provenance: Mapping[str, Any],
        confidence: float = 0.5,
        *,
        diff: str = "",
    ) -> Entry | None:
        """A change that turned this failure green: a new candidate fix, or one more sighting.

        The same change (its ``provenance["relevant"]`` files, else ``files``; order-free)
        already recorded for this fingerprint is the same fix: its ``seen`` and confidence go up
        instead (and it gets ``diff`` if it had none). A rejected one only counts the sighting
        and stays rejected. When the fingerprint already has a confirmed fix (an active ``fix``),
        a matching change counts as one more sighting of it and any other change is not
        recorded at all (``None``): a confirmed fix gets no rival candidates.
        """
        linked = check_fingerprint(fingerprint)
        now = self._now()
        origin = check_provenance(provenance, default_source="learner")
        candidate = Entry(
            id=self._new_id(),
            kind="fix",
            title=check_title(title),
            body=check_body(body),
            tags=(),
            fingerprints=(linked,),
            status="candidate",
            confidence=min(check_confidence(confidence), CANDIDATE_CEILING),
            seen=1,
            provenance=origin,
            created=now,
            updated=now,
            diff=check_diff(diff[:MAX_DIFF]),
        )
        candidate = self._clean(candidate)
        signature = change_signature(candidate.provenance)
        with self._writing() as conn:
            rows = conn.execute(
                "SELECT * FROM kb_entries WHERE kind = 'fix' AND id IN (SELECT entry_id FROM"
                f" kb_fingerprints WHERE fingerprint = ?) ORDER BY {_BEST_FIRST}",
                (linked,),
            ).fetchall()
            existing = [table.to_entry(row) for row in rows]
            for old in existing:
                if change_signature(old.provenance) == signature:
                    retired = old.status == "rejected" and old.provenance.get("retired_at")
                    seen = self._sighted(revived(old) if retired else old, origin)
                    if not seen.diff and candidate.diff:
                        seen = replace(seen, diff=candidate.diff)
                    return self._store(conn, old, seen)
            if any(old.status == "active" for old in existing):
                return None
            table.insert(conn, candidate)
        return candidate

    def seen_again(self, id: str, event_id: str | None = None) -> Entry:
        """The fix was observed working once more: ``seen`` + 1 and a little more confidence."""
        extra = {"events": [event_id]} if event_id else {}
        with self._writing() as conn:
            old = table.to_entry(self._resolve(conn, id))
            return self._store(conn, old, self._sighted(old, extra))

    def confirm(self, id: str, by: str | None = None) -> Entry:
        """A person vouches for the entry: active, confidence at least 0.9, who and when kept."""
        with self._writing() as conn:
            old = table.to_entry(self._resolve(conn, id))
            origin = {k: v for k, v in old.provenance.items() if not k.startswith("rejected_")}
            origin.update(confirmed_by=by, confirmed_at=self._now())
            new = replace(
                old,
                status="active",
                confidence=max(old.confidence, CONFIRMED_FLOOR),
                provenance=origin,
            )
            return self._store(conn, old, new)

    def reject(self, id: str, by: str | None = None, reason: str | None = None) -> Entry:
        """A person says the entry is wrong: it is kept, but never offered as a fix again."""
        with self._writing() as conn:
            old = table.to_entry(self._resolve(conn, id))
            origin = {k: v for k, v in old.provenance.items() if not k.startswith("confirmed_")}
            origin.update(rejected_by=by, rejected_at=self._now())
            if reason:
                origin["rejection_reason"] = reason
            return self._store(conn, old, replace(old, status="rejected", provenance=origin))

    # --- Markdown -------------------------------------------------------------------------------

    def export(self, directory: Path) -> builtins.list[Path]:
        """Write every entry to ``directory/<kind>/<slug>-<shortid>.md``; returns the files."""
        rows = self._db.query("SELECT * FROM kb_entries ORDER BY seq")
        return markdown.write_entries([table.to_entry(row) for row in rows], directory)

    def import_(self, paths: Path | Iterable[Path]) -> ImportReport:
        """Upsert entries from Markdown files or directories of them, all or nothing.

        Every file is validated before anything is stored; one bad file rejects the import with
        ``ValidationError`` naming the file and line. Files with an ``id`` update that entry (or
        create it with that id). Files without one are idempotent too (see :func:`_identity`):
        importing the same folder twice stores each entry once, and an edited file updates its
        entry.
        """
        drafts = markdown.read_entries([paths] if isinstance(paths, Path) else builtins.list(paths))
        created: builtins.list[str] = []
        updated: builtins.list[str] = []
        unchanged: builtins.list[str] = []
        now = self._now()
        with self._writing() as conn:
            by_file = _imported_files(conn) if any(d.id is None for d in drafts) else {}
            owners: dict[str, Path] = {}
            for draft in drafts:
                fields = dict(draft.fields)
                entry_id = draft.id
                if entry_id is None:
                    source = str(draft.path.resolve())
                    entry_id = _identity(conn, by_file, source, fields["kind"], fields["title"])
                    fields["provenance"] = {**fields["provenance"], "imported_from": source}
                if entry_id in owners:
                    raise ValidationError(
                        f"{draft.path}: same entry as {owners[entry_id]} (the same kind and"
                        " title, or the same id); give one of them an id or another title;"
                        " nothing was imported",
                        path=str(draft.path),
                    )
                owners[entry_id] = draft.path
                row = conn.execute("SELECT * FROM kb_entries WHERE id = ?", (entry_id,)).fetchone()
                entry = Entry(
                    id=entry_id,
                    created=draft.created or (row["created"] if row is not None else now),
                    updated=draft.updated or (row["updated"] if row is not None else now),
                    **fields,
                )
                if row is None:
                    entry = self._clean(entry)
                    table.insert(conn, entry)
                    created.append(entry.id)
                else:
                    current = table.to_entry(row)
                    # An edit that kept the old `updated` line is an edit now.
                    touch = draft.updated in (None, current.updated)
                    stored = self._store(conn, current, entry, touch=touch)
                    (unchanged if stored is current else updated).append(entry.id)
        return ImportReport(tuple(created), tuple(updated), tuple(unchanged))

    # --- internals ------------------------------------------------------------------------------

    def _now(self) -> str:
        return isoformat(self._clock.now())

    def _new_id(self) -> str:
        return ID_PREFIX + new_ulid(int(self._clock.now().timestamp() * 1000))

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._db.transaction() as conn:
                yield conn
        except sqlite3.Error as exc:
            raise StorageError(
                f"knowledge base in {self._db.path}: {exc}", path=str(self._db.path)
            ) from exc

    def _resolve(self, conn: sqlite3.Connection | None, key: str) -> sqlite3.Row:
        if conn is None:
            return table.find(self._db.query, key)
        return table.find(lambda sql, params: conn.execute(sql, params).fetchall(), key)

    def _sighted(self, old: Entry, extra: Mapping[str, Any]) -> Entry:
        """``old`` observed once more, with ``extra`` provenance (events, commits) merged in."""
        origin = dict(old.provenance)
        for key in ("events", "commits"):
            merged = builtins.list(origin.get(key) or [])
            merged += [item for item in extra.get(key) or [] if item not in merged]
            if merged:
                origin[key] = merged
        confidence = old.confidence
        if old.status != "rejected":
            confidence = raised_confidence(old.confidence, old.status)
        return replace(old, seen=old.seen + 1, confidence=confidence, provenance=origin)

    def _store(
        self, conn: sqlite3.Connection, old: Entry, new: Entry, *, touch: bool = True
    ) -> Entry:
        """Write the fields of ``new`` that differ from ``old`` (same id).

        Returns the stored entry: ``old`` itself when nothing differed (nothing is written).
        """
        new = self._clean(new)
        changed = table.changed_columns(old, new)
        if not changed:
            return old
        if touch:
            new = replace(new, updated=self._now())
            changed = table.changed_columns(old, new)
        table.update(conn, new, changed)
        return new

    def _clean(self, entry: Entry) -> Entry:
        """``entry`` as it may be stored: secrets redacted from title, body, tags and provenance.

        Every write goes through here (add, update, learning, confirm/reject, Markdown import);
        a fix's diff is redacted like its body.
        Tags were lower-cased by validation, so secrets are looked for in any case there.
        """
        redact = self._redactor.redact
        title = redact(entry.title)
        body = redact(entry.body)
        diff = redact(entry.diff)
        tags = tuple(dict.fromkeys(redact(tag, ignore_case=True).lower() for tag in entry.tags))
        provenance = self._redactor.redact_obj(entry.provenance)
        if (title, body, diff, tags) == (entry.title, entry.body, entry.diff, entry.tags) and (
            provenance is entry.provenance
        ):
            return entry
        return replace(entry, title=title, body=body, diff=diff, tags=tags, provenance=provenance)


def _imported_files(conn: sqlite3.Connection) -> dict[str, str]:
    """Entry ids by the file an id-less entry was imported from (``provenance.imported_from``)."""
    rows = conn.execute(
        "SELECT id, json_extract(provenance, '$.imported_from') FROM kb_entries"
        " WHERE json_extract(provenance, '$.imported_from') IS NOT NULL ORDER BY seq"
    ).fetchall()
    return {str(row[1]): str(row[0]) for row in rows}


def _identity(
    conn: sqlite3.Connection, by_file: Mapping[str, str], source: str, kind: str, title: str
) -> str:
    """The id of an entry imported from a file without an ``id`` line.

    1. The entry imported from the same file before (its title may have been edited since).
    2. Else an id derived from kind and title (:func:`derived_id`), unless that id belongs to an
       entry with another kind or title (retitled since): then one derived from the file too.
    So importing a folder twice stores its entries once, moving the folder keeps them, and two
    people importing the same file get the same id.
    """
    known = by_file.get(source)
    if known is not None:
        return known
    derived = derived_id(kind, title)
    row = conn.execute("SELECT kind, title FROM kb_entries WHERE id = ?", (derived,)).fetchone()
    if row is None or derived_id(row[0], row[1]) == derived:
        return derived
    return derived_id(kind, title, source)


def derived_id(kind: str, title: str, *extra: str) -> str:
    """A stable ``kb_`` id (a well-formed ULID) from an entry's kind and title (case and spacing
    ignored), and any ``extra`` text."""
    key = "\0".join([kind.lower(), " ".join(title.split()).casefold(), *extra])
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:16], "big")  # 128 bits
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32, as ULIDs use
    return ID_PREFIX + "".join(alphabet[(number >> (5 * i)) & 31] for i in reversed(range(26)))
