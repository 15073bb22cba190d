"""recall: semantic recall against full text, per kind of query, and hybrid search latency.

Recall: the recall set (``tests/fixtures/knowledge/recall_set.json``: 32 entries written as a
team would, 33 paraphrases sharing no word with their entry, 24 pasted errors, 30 keywords)
among synthetic distractors (:mod:`vigil.bench.corpus`), all embedded for real. Figures:
recall@5 per kind for full text alone (``words``), meaning alone and hybrid; the check is
hybrid >= the better of the two on every kind.

Latency: hybrid ``KnowledgeBase.search`` at 100,000 entries (quick: 10,000). Vectors for the
distractors are random unit vectors (embedding 100k entries would take hours here; the cost of a
search does not depend on their values), the query is embedded for real each time. Baseline,
same run: full-text search alone on the same knowledge base.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from vigil.bench import stats
from vigil.bench.corpus import Corpus
from vigil.bench.harness import Check, Context, Result
from vigil.clock import SystemClock
from vigil.memory.knowledge import KnowledgeBase
from vigil.storage import Database

RECALL_SET = (
    Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "knowledge" / "recall_set.json"
)
KINDS = ("paraphrase", "pasted_error", "keyword")
TARGET_P99_MS = 20.0


def run(ctx: Context) -> Result:
    import numpy as np

    from vigil.memory.embedder import available, load_embedder
    from vigil.memory.vectors import VectorStore

    result = Result()
    if not available():
        result.notes.append("semantic recall is not installed (make semantic): nothing measured")
        return result
    model = load_embedder()
    data = json.loads(RECALL_SET.read_text())
    distractors = ctx.size(300, 100)
    db = Database(ctx.directory("recall") / "vigil.db")
    kb = KnowledgeBase(db, SystemClock(), semantic=VectorStore(db, lambda: model))
    with db.transaction():
        for draft in Corpus(seed=5).drafts(distractors):
            kb.add(draft.kind, draft.title, draft.body, draft.tags)
    ids = {
        e["title"]: kb.add(e["kind"], e["title"], e["body"], e["tags"]).id for e in data["entries"]
    }
    ctx.say(f"recall: embedding {distractors + len(ids)} entries")
    started = time.perf_counter()
    embedded = kb.index()
    result.figures["embed_entries_per_s"] = round(embedded / (time.perf_counter() - started), 1)
    semantic = kb.semantic
    assert semantic is not None
    seq_of = {r["id"]: r["seq"] for r in db.query("SELECT id, seq FROM kb_entries")}
    for kind in KINDS:
        queries = [q for q in data["queries"] if q["kind"] == kind]
        found = {"words": 0, "meaning": 0, "hybrid": 0}
        for q in queries:
            want = ids[q["expect"]]
            found["words"] += want in [h.entry.id for h in kb.search(q["text"], 5, mode="words")]
            found["meaning"] += seq_of[want] in [n.seq for n in semantic.nearest(q["text"], 5)]
            found["hybrid"] += want in [h.entry.id for h in kb.search(q["text"], 5)]
        share = {k: round(v / len(queries), 3) for k, v in found.items()}
        result.figures[f"{kind}_recall_at_5"] = {**share, "queries": len(queries)}
        result.checks.append(
            Check(
                f"{kind}: hybrid - best of the two",
                share["hybrid"] - max(share["words"], share["meaning"]),
                ">=",
                0.0,
            )
        )
    db.close()
    # latency at scale
    n = ctx.size(100_000, 10_000)
    ctx.say(f"recall: hybrid search latency at {n} entries")
    big = Database(ctx.directory("latency") / "vigil.db")
    kb = KnowledgeBase(big, SystemClock(), semantic=VectorStore(big, lambda: model))
    with big.transaction():
        for draft in Corpus(seed=11).drafts(n):
            kb.add(draft.kind, draft.title, draft.body, draft.tags)
    rng = np.random.default_rng(7)
    seqs = [int(r[0]) for r in big.query("SELECT seq FROM kb_entries ORDER BY seq")]
    vectors = rng.standard_normal((len(seqs), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert kb.semantic is not None
    for start in range(0, len(seqs), 5000):
        kb.semantic.store(
            list(zip(seqs[start : start + 5000], vectors[start : start + 5000], strict=True))
        )
    queries = [q["text"] for q in data["queries"]][: ctx.size(40, 15)]
    kb.search(queries[0], 10)  # loads the matrix
    samples: dict[str, list[int]] = {"hybrid": [], "words": [], "embed_query": []}
    for _ in range(ctx.size(3, 1)):
        for text in queries:
            t = time.perf_counter_ns()
            kb.search(text, 10)
            samples["hybrid"].append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            kb.search(text, 10, mode="words")
            samples["words"].append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            kb.semantic.embed_query(text)
            samples["embed_query"].append(time.perf_counter_ns() - t)
    big.close()
    result.figures["entries"] = n
    result.figures["hybrid"] = stats.latency(samples["hybrid"])
    result.figures["embed_query"] = stats.latency(samples["embed_query"])
    result.baseline["words"] = stats.latency(samples["words"])
    result.ratio["hybrid_p99_vs_words"] = stats.ratio(
        result.figures["hybrid"]["p99"], result.baseline["words"]["p99"]
    )
    result.checks.append(
        Check("hybrid_p99_ms", result.figures["hybrid"]["p99"], "<", TARGET_P99_MS)
    )
    return result
