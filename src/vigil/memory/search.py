"""Full-text search over the knowledge base that stays fast when the query has common words.

Ranking every match by bm25 costs time in proportion to the number of matches: ~170 ms for a word
found in 90 of 100k entries. So the query is planned first, from how many entries hold each word:

1. The user's text becomes *words*, never FTS syntax: each word is quoted, operators and
   punctuation are just separators, and a trailing ``*`` (or, with ``prefix_last``, an unfinished
   last word) expands to at most ``max_expansions`` real index terms taken from ``kb_fts_vocab``.
2. Each word's document frequency is counted on the index, newest first, but only up to
   ``common_df``; a word that reaches it is *common*, and its frequency is estimated from how
   densely it occurs among the newest entries (one cheap, bounded query per word).
3. *Rare* words (rarest first, while their frequencies sum to at most ``rare_budget``) are matched
   and ranked by bm25 in SQLite, which is cheap because few entries hold them; a pool of the best
   is kept. When every word is common, the pool is the newest entries holding the (up to three)
   rarest words together, then any of them: ``ORDER BY rowid DESC LIMIT n`` lets FTS5 stop early.
4. The pool is re-ranked in Python with the *whole* query (BM25 with title x3, tags x2, body x1),
   scores normalized to [0, 1) by the best score the query could reach, and the top hits get a
   snippet with the matched words in ``**bold**``.

An entry that holds none of the rare words can only score through common words, whose weight is
small, so it loses little to leave it out of the pool (the classic max-score argument); when the
rare words match fewer entries than asked for, the newest entries with common words fill in.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from vigil.errors import ValidationError
from vigil.memory.tokenizer import normalize, spans, tokens
from vigil.storage import Database

_QUERY_WORD = re.compile(r"([^\W_]+)(\*?)")
_K1 = 1.2
_B = 0.75
_TITLE, _BODY, _TAGS = 3.0, 1.0, 2.0
_SNIPPET_WORDS = 24
_SCAN_CHARS = 20_000  # ranking and snippets read this much of a body (the index has all of it)


@dataclass(frozen=True)
class SearchTuning:
    """Knobs of the planner; the defaults keep p99 under 10 ms at 100k entries."""

    common_df: int = 2000
    rare_budget: int = 4000
    pool: int = 100
    max_words: int = 32
    max_expansions: int = 24
    min_prefix: int = 2


@dataclass(frozen=True)
class Word:
    """One word of the query and what it matches in the index."""

    text: str
    prefix: bool
    terms: frozenset[str]
    df: int
    exact_df: bool
    idf: float

    def match_expr(self) -> str:
        quoted = " OR ".join(
            f'"{term.replace(chr(34), chr(34) * 2)}"' for term in sorted(self.terms)
        )
        return f"({quoted})" if len(self.terms) > 1 else quoted


@dataclass(frozen=True)
class SearchPlan:
    """How a query will run: its words (those found in the index) and the strategy."""

    words: tuple[Word, ...]
    entries: int
    strategy: Literal["empty", "rare", "common"]
    rare: tuple[str, ...]


@dataclass(frozen=True)
class Ranked:
    """One re-ranked result row (a ``kb_entries`` row), its relevance and its snippet."""

    row: sqlite3.Row
    score: float
    snippet: str


def query_words(
    text: str,
    *,
    prefix_last: bool,
    tuning: SearchTuning,
    ignore: Collection[str] = frozenset(),
) -> list[tuple[str, bool]]:
    """The distinct words of ``text`` as ``(normalized word, is_prefix)``; raises if none."""
    found: dict[str, bool] = {}
    matches = list(_QUERY_WORD.finditer(text))
    for index, match in enumerate(matches):
        word = normalize(match.group(1))
        if word in ignore:
            continue
        unfinished = index == len(matches) - 1 and prefix_last and match.end() == len(text)
        prefix = (bool(match.group(2)) or unfinished) and len(word) >= tuning.min_prefix
        found[word] = found.get(word, False) or prefix
        if len(found) >= tuning.max_words:
            break
    if not found:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ValidationError(
            f"search query {shown!r} has no words to search for (letters or digits)", query=text
        )
    return list(found.items())


class FullTextSearch:
    """Plans and runs searches on the ``kb_fts`` index of one database."""

    def __init__(self, db: Database, tuning: SearchTuning | None = None) -> None:
        self._db = db
        self.tuning = tuning or SearchTuning()

    def plan(
        self,
        text: str,
        *,
        prefix_last: bool = False,
        max_words: int | None = None,
        ignore: Collection[str] = frozenset(),
    ) -> SearchPlan:
        """Look up each word's frequency and choose the strategy (no ranking yet).

        ``max_words`` keeps only the rarest words; ``ignore`` drops words before anything else.
        """
        parsed = query_words(text, prefix_last=prefix_last, tuning=self.tuning, ignore=ignore)
        stats = self._db.query_one(
            "SELECT (SELECT entries FROM kb_stats) AS n, (SELECT max(seq) FROM kb_entries) AS top"
        )
        total = int(stats["n"]) if stats is not None and stats["n"] else 0
        top = int(stats["top"]) if stats is not None and stats["top"] else 0
        if total <= 0:
            return SearchPlan((), 0, "empty", ())
        words = [w for w in (self._word(t, p, total, top) for t, p in parsed) if w.df > 0]
        words.sort(key=lambda w: (w.df, w.text))
        if max_words is not None:
            words = words[:max_words]
        if not words:
            return SearchPlan((), total, "empty", ())
        rare: list[str] = []
        spent = 0
        for word in words:
            if not word.exact_df or spent + word.df > self.tuning.rare_budget:
                break
            rare.append(word.text)
            spent += word.df
        return SearchPlan(tuple(words), total, "rare" if rare else "common", tuple(rare))

    def run(
        self,
        text: str,
        *,
        limit: int,
        kinds: Collection[str] | None = None,
        include_rejected: bool = False,
        prefix_last: bool = False,
        max_words: int | None = None,
        ignore: Collection[str] = frozenset(),
    ) -> list[Ranked]:
        """The best ``limit`` entries for ``text``, best first."""
        if limit < 1:
            raise ValidationError("search limit must be at least 1", limit=limit)
        plan = self.plan(text, prefix_last=prefix_last, max_words=max_words, ignore=ignore)
        if plan.strategy == "empty":
            return []
        pool = max(self.tuning.pool, 4 * limit)
        where, params = _filters(kinds, include_rejected)
        by_text = {w.text: w for w in plan.words}
        seqs: list[int] = []
        if plan.strategy == "rare":
            rare = [by_text[t] for t in plan.rare]
            seqs = self._ranked(_any(rare), where, params, pool)
            common = [w for w in plan.words if w.text not in plan.rare]
            if len(seqs) < limit and common:
                seqs += self._newest(_any(common), where, params, pool, exclude=seqs)
        else:
            seqs = self._newest(_all(plan.words[:3]), where, params, pool, exclude=[])
            if len(seqs) < pool:
                seqs += self._newest(_any(plan.words), where, params, pool - len(seqs), seqs)
        return _rerank(self._rows(seqs), plan.words, limit)

    # --- index queries -------------------------------------------------------------------------

    def _word(self, text: str, prefix: bool, total: int, top: int) -> Word:
        terms = frozenset([text])
        if prefix:
            rows = self._db.query(
                "SELECT term FROM kb_fts_vocab WHERE term >= ? AND term <= ? || char(1114111)"
                " ORDER BY term LIMIT ?",
                (text, text, self.tuning.max_expansions),
            )
            terms = frozenset(str(r["term"]) for r in rows) or terms
        probe = Word(text, prefix, terms, 0, True, 0.0)
        cap = self.tuning.common_df
        row = self._db.query_one(
            "SELECT count(*) AS n, min(rowid) AS low FROM (SELECT rowid FROM kb_fts"
            " WHERE kb_fts MATCH ? ORDER BY rowid DESC LIMIT ?)",
            (probe.match_expr(), cap),
        )
        found = int(row["n"]) if row is not None else 0
        exact = found < cap
        if exact:
            df = found
        else:  # density among the newest entries, scaled to all of them
            low = int(row["low"]) if row is not None and row["low"] is not None else 1
            df = min(total, max(cap, round(found / max(1, top - low + 1) * total)))
        idf = math.log(1.0 + (total - df + 0.5) / (df + 0.5)) if df else 0.0
        return Word(text, prefix, terms, df, exact, idf)

    def _ranked(self, match: str, where: str, params: list[object], pool: int) -> list[int]:
        rows = self._db.query(
            "SELECT kb_fts.rowid AS seq FROM kb_fts JOIN kb_entries e ON e.seq = kb_fts.rowid"
            f" WHERE kb_fts MATCH ?{where}"
            f" ORDER BY bm25(kb_fts, {_TITLE}, {_BODY}, {_TAGS}) LIMIT ?",
            [match, *params, pool],
        )
        return [int(r["seq"]) for r in rows]

    def _newest(
        self, match: str, where: str, params: list[object], pool: int, exclude: Sequence[int]
    ) -> list[int]:
        if pool <= 0:
            return []
        skip = set(exclude)
        rows = self._db.query(
            "SELECT kb_fts.rowid AS seq FROM kb_fts JOIN kb_entries e ON e.seq = kb_fts.rowid"
            f" WHERE kb_fts MATCH ?{where} ORDER BY kb_fts.rowid DESC LIMIT ?",
            [match, *params, pool + len(skip)],
        )
        return [s for s in (int(r["seq"]) for r in rows) if s not in skip][:pool]

    def rows(self, seqs: Sequence[int]) -> list[sqlite3.Row]:
        """The ``kb_entries`` rows with these ``seq`` s (in no particular order)."""
        return self._rows(seqs)

    def _rows(self, seqs: Sequence[int]) -> list[sqlite3.Row]:
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        return self._db.query(f"SELECT * FROM kb_entries WHERE seq IN ({marks})", list(seqs))


def _filters(kinds: Collection[str] | None, include_rejected: bool) -> tuple[str, list[object]]:
    where = ""
    params: list[object] = []
    if kinds is not None:
        where += f" AND e.kind IN ({','.join('?' * len(kinds))})" if kinds else " AND 0"
        params += sorted(kinds)
    if not include_rejected:
        where += " AND e.status != 'rejected'"
    return where, params


def _any(words: Sequence[Word]) -> str:
    return " OR ".join(w.match_expr() for w in words)


def _all(words: Sequence[Word]) -> str:
    return " AND ".join(w.match_expr() for w in words)


# --- re-ranking ---------------------------------------------------------------------------------


def _rerank(rows: list[sqlite3.Row], words: Sequence[Word], limit: int) -> list[Ranked]:
    """BM25 over the pool (title x3, tags x2, body x1), normalized by the best reachable score."""
    if not rows:
        return []
    slot = {term: i for i, word in enumerate(words) for term in word.terms}
    counted: list[tuple[sqlite3.Row, list[float], float]] = []
    for row in rows:
        tf = [0.0] * len(words)
        length = 0.0
        fields = ((row["title"], _TITLE), (row["body"][:_SCAN_CHARS], _BODY), (row["tags"], _TAGS))
        for text, weight in fields:
            found = tokens(text)
            length += weight * len(found)
            for token in found:
                index = slot.get(token)
                if index is not None:
                    tf[index] += weight
        counted.append((row, tf, length))
    average = max(1.0, sum(length for _, _, length in counted) / len(counted))
    best = sum(w.idf for w in words) * (_K1 + 1.0)
    ranked: list[tuple[float, int, sqlite3.Row]] = []
    for row, tf, length in counted:
        norm = _K1 * (1.0 - _B + _B * length / average)
        score = sum(w.idf * f * (_K1 + 1.0) / (f + norm) for w, f in zip(words, tf, strict=True))
        if score > 0.0 and best > 0.0:
            ranked.append((score / best, int(row["seq"]), row))
    ranked.sort(key=lambda item: (-item[0], -item[1]))
    return [
        Ranked(row, score, snippet(row["body"][:_SCAN_CHARS], slot))
        for score, _, row in ranked[:limit]
    ]


def snippet_of(body: str, width: int = _SNIPPET_WORDS) -> str:
    """The first ``width`` words of ``body`` (for an entry found by meaning, not by words)."""
    return snippet(body[:_SCAN_CHARS], {}, width)


def snippet(body: str, slot: dict[str, int], width: int = _SNIPPET_WORDS) -> str:
    """The stretch of ``body`` (``width`` words) holding the most query words, bolded."""
    found = list(spans(body))
    if not found:
        return ""
    start = 0
    if len(found) > width:
        wanted = len(set(slot.values()))
        best = -1
        hits = [i for i, (_, _, word) in enumerate(found) if word in slot][:200]
        for first in (max(0, i - width // 4) for i in hits):
            window = {slot[w] for _, _, w in found[first : first + width] if w in slot}
            if len(window) > best:
                best, start = len(window), min(first, len(found) - width)
            if best == wanted:
                break
    window_spans = found[start : start + width]
    pieces: list[str] = []
    cursor = window_spans[0][0]
    for begin, end, word in window_spans:
        pieces.append(body[cursor:begin])
        pieces.append(f"**{body[begin:end]}**" if word in slot else body[begin:end])
        cursor = end
    text = " ".join("".join(pieces).split())
    before = "… " if start > 0 else ""
    after = " …" if start + width < len(found) else ""
    return f"{before}{text}{after}"
