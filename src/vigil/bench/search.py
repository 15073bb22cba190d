"""search: knowledge search at 100,000 entries, by query class, against raw FTS5.

Setup (not timed): ``KnowledgeBase.add`` of realistic entries (:mod:`vigil.bench.corpus`) in one
transaction, and the same title/body/tags texts in a bare FTS5 table (same tokenizer) in another
file. Query classes, picked from the corpus's own word counts so their class is known:

- ``rare``: two project identifiers from one entry, each in few entries;
- ``mixed``: a very common word, a developer word and a rare identifier;
- ``common``: two or three words that each occur in more than half of the entries.

Timed: ``KnowledgeBase.search(query, limit=10)`` (its defaults: any word matches, the last word
may be a prefix), each query several times, classes interleaved. Baseline, same run, same queries:
``SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 10`` on the bare table, with the
words OR-ed (the KB's semantics: ``raw_fts_or``, used for the ratios) and as FTS5 reads plain text,
all words required (``raw_fts_and``). Ranking every match by bm25 is what makes common words slow
for the raw index; it is what the KB's planner avoids.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter
from pathlib import Path

from vigil.bench import stats
from vigil.bench.corpus import COMMON_SHARE, DEV_WORDS, Corpus, Draft, tail_vocabulary
from vigil.bench.harness import Check, Context, Result
from vigil.clock import SystemClock
from vigil.memory.knowledge import KnowledgeBase
from vigil.storage import Database

TARGET_P99_MS = 10.0
LIMIT = 10
CLASSES = ("rare", "mixed", "common")
# Words a developer types that the corpus puts in most entries (each is checked to be > 50%).
COMMON_WORDS = ("error", "test", "failed", "fix", "root", "cause", "rerun", "suite", "change")


def _quote(words: list[str]) -> list[str]:
    return ['"' + w.replace('"', '""') + '"' for w in words]


def queries(
    drafts: list[Draft], df: Counter[str], size: int, per_class: int, seed: int = 13
) -> dict[str, list[str]]:
    """``per_class`` queries of each class, chosen from the corpus's document frequencies."""
    rng = random.Random(seed)
    tail = set(tail_vocabulary())
    rare_cap = max(5, size // 2000)
    picked: dict[str, list[str]] = {name: [] for name in CLASSES}
    for draft in rng.sample(drafts, min(len(drafts), 20 * per_class)):
        rare = sorted(
            (w for w in draft.words if w in tail and df[w] <= rare_cap), key=lambda w: df[w]
        )
        if len(rare) >= 2 and len(picked["rare"]) < per_class:
            picked["rare"].append(f"{rare[0]} {rare[1]}")
        elif len(rare) == 1 and len(picked["mixed"]) < per_class:
            dev = rng.choice(sorted(w for w in draft.words if w in DEV_WORDS) or ["timeout"])
            words = [rng.choice(sorted(COMMON_SHARE)), dev, rare[0]]
            rng.shuffle(words)
            picked["mixed"].append(" ".join(words))
    common = [w for w in COMMON_WORDS if df[w] > size / 2]
    if {"error", "test"} <= set(common):
        picked["common"].append("error test")
    while len(picked["common"]) < per_class and len(common) >= 2:
        picked["common"].append(" ".join(rng.sample(common, rng.choice((2, 3)))))
    return picked


def _fill(
    ctx: Context, n: int
) -> tuple[KnowledgeBase, Database, sqlite3.Connection, Corpus, list[Draft], float]:
    db = Database(ctx.directory("home") / "vigil.db")
    kb = KnowledgeBase(db, SystemClock())
    corpus = Corpus(seed=11)
    drafts: list[Draft] = []
    started = time.perf_counter()
    with db.transaction():
        for draft in corpus.drafts(n):
            kb.add(draft.kind, draft.title, draft.body, draft.tags, draft.fingerprints)
            drafts.append(draft)
    fill_s = time.perf_counter() - started
    raw = sqlite3.connect(Path(ctx.root) / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute(
        "CREATE VIRTUAL TABLE fts USING fts5(title, body, tags,"
        " tokenize = 'unicode61 remove_diacritics 2')"
    )
    raw.execute("BEGIN")
    raw.executemany(
        "INSERT INTO fts (title, body, tags) VALUES (?, ?, ?)",
        ((d.title, d.body, json.dumps(list(d.tags))) for d in drafts),
    )
    raw.execute("COMMIT")
    return kb, db, raw, corpus, drafts, fill_s


def run(ctx: Context) -> Result:
    n = ctx.size(100_000, 10_000)
    per_class = ctx.size(10, 5)
    reps = ctx.size(10, 4)
    raw_reps = ctx.size(2, 1)
    ctx.say(f"search: filling a knowledge base of {n} entries (one transaction)")
    kb, db, raw, corpus, drafts, fill_s = _fill(ctx, n)
    picked = queries(drafts, corpus.df, n, per_class)
    del drafts
    samples: dict[str, dict[str, list[int]]] = {
        variant: {name: [] for name in CLASSES} for variant in ("kb", "raw_fts_or", "raw_fts_and")
    }
    hits: dict[str, list[int]] = {name: [] for name in CLASSES}
    strategies: dict[str, Counter[str]] = {name: Counter() for name in CLASSES}
    sql = "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT ?"
    ctx.say(f"search: {per_class} queries x 3 classes x {reps} runs (raw FTS5: {raw_reps})")
    try:
        for name in CLASSES:
            for query in picked[name]:
                strategies[name][kb.explain(query).strategy] += 1
                hits[name].append(len(kb.search(query, limit=LIMIT)))  # warm-up
        for rep in range(reps):
            for name in CLASSES:
                for query in picked[name]:
                    started = time.perf_counter_ns()
                    kb.search(query, limit=LIMIT)
                    samples["kb"][name].append(time.perf_counter_ns() - started)
                    if rep >= raw_reps:
                        continue
                    words = _quote(query.split())
                    for variant, joiner in (("raw_fts_or", " OR "), ("raw_fts_and", " ")):
                        started = time.perf_counter_ns()
                        raw.execute(sql, (joiner.join(words), LIMIT)).fetchall()
                        samples[variant][name].append(time.perf_counter_ns() - started)
    finally:
        db.close()
        raw.close()
    result = Result()
    result.figures["entries"] = n
    result.figures["fill_s"] = round(fill_s, 2)
    result.figures["fill_entries_per_s"] = round(n / fill_s) if fill_s else None
    result.figures["queries"] = picked
    for name in CLASSES:
        kb_figure = stats.latency(samples["kb"][name])
        kb_figure["strategies"] = dict(strategies[name])
        kb_figure["hits_median"] = stats.percentile(hits[name], 50) if hits[name] else 0
        result.figures[name] = kb_figure
        for variant in ("raw_fts_or", "raw_fts_and"):
            result.baseline[f"{name}_{variant}"] = stats.latency(samples[variant][name])
        raw_or = result.baseline[f"{name}_raw_fts_or"]
        result.ratio[f"{name}_p99_vs_raw_fts_or"] = stats.ratio(kb_figure["p99"], raw_or["p99"])
        result.checks.append(Check(f"{name}_p99_ms", kb_figure["p99"], "<", TARGET_P99_MS))
    result.notes.append(
        "ratio < 1 means the knowledge base answers faster than ranking every FTS5 match"
    )
    return result
