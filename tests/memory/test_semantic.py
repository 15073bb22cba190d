"""Semantic recall: the numpy MiniLM, the vector store, and hybrid search on the recall set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.memory.conftest import FixedClock
from vigil.errors import ConfigError
from vigil.memory import KnowledgeBase
from vigil.memory.embedder import MiniLM, load_embedder
from vigil.memory.hybrid import fuse, standout
from vigil.memory.tokenizer import tokens
from vigil.memory.vectors import VectorStore
from vigil.storage import Database

RECALL_SET = Path(__file__).resolve().parents[1] / "fixtures" / "knowledge" / "recall_set.json"
FUNCTION_WORDS = frozenset(
    (
        "a",
        "an",
        "the",
        "to",
        "of",
        "in",
        "on",
        "for",
        "is",
        "it",
        "and",
        "or",
        "my",
        "i",
        "how",
        "do",
        "we",
        "with",
        "after",
        "when",
        "by",
        "be",
        "so",
        "at",
        "there",
        "once",
        "from",
        "no",
        "can",
        "not",
        "each",
        "other",
        "should",
        "which",
        "where",
        "are",
        "too",
        "get",
        "got",
    )
)


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return load_embedder()


@pytest.fixture(scope="module")
def recall_set() -> dict[str, list[dict[str, object]]]:
    data: dict[str, list[dict[str, object]]] = json.loads(RECALL_SET.read_text())
    return data


@pytest.fixture(scope="module")
def indexed(
    tmp_path_factory: pytest.TempPathFactory, model: MiniLM, recall_set: dict[str, list]
) -> Iterator[tuple[KnowledgeBase, dict[str, str]]]:
    """The recall set's entries, added to a real knowledge base and embedded once."""
    db = Database(tmp_path_factory.mktemp("semantic") / "vigil.db")
    kb = KnowledgeBase(db, FixedClock(), semantic=VectorStore(db, lambda: model))
    ids = {
        str(e["title"]): kb.add(str(e["kind"]), str(e["title"]), str(e["body"]), e["tags"]).id
        for e in recall_set["entries"]
    }
    kb.index()
    yield kb, ids
    db.close()


def test_minilm_reproduces_the_reference_similarities(model: MiniLM) -> None:
    """The numpy model gives the cosine similarities sentence-transformers publishes for
    all-MiniLM-L6-v2 (0.6660, 0.1046, 0.1411), so it is the same model, not an approximation."""
    v = model.embed(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    assert round(float(v[0] @ v[1]), 3) == 0.666
    assert round(float(v[0] @ v[2]), 3) == 0.105
    assert round(float(v[1] @ v[2]), 3) == 0.141


def test_paraphrases_share_no_words_with_their_entry(recall_set: dict[str, list]) -> None:
    """Every paraphrase query of the recall set shares no word (function words aside) with the
    entry it must find, so finding it is recall by meaning, not by words."""
    entries = {e["title"]: e for e in recall_set["entries"]}
    for query in recall_set["queries"]:
        if query["kind"] != "paraphrase":
            continue
        entry = entries[query["expect"]]
        text = f"{entry['title']} {entry['body']} {' '.join(entry['tags'])}"
        shared = (set(tokens(query["text"])) & set(tokens(text))) - FUNCTION_WORDS
        assert not shared, (query["text"], shared)


def test_hybrid_finds_what_words_alone_miss(indexed: tuple[KnowledgeBase, dict[str, str]]) -> None:
    """ "database reset"-style recall: a query sharing no words finds its entry by meaning, and
    says so (match "meaning"), where full-text search finds nothing useful."""
    kb, ids = indexed
    query = "js bundler crashes because ram runs short"
    want = ids["Node out of memory during webpack build"]
    words = [h.entry.id for h in kb.search(query, limit=5, mode="words")]
    hybrid = kb.search(query, limit=5)
    assert want not in words
    assert hybrid[0].entry.id == want
    assert hybrid[0].match == "meaning"


def test_hybrid_is_as_good_as_the_better_of_the_two_per_kind(
    indexed: tuple[KnowledgeBase, dict[str, str]], recall_set: dict[str, list]
) -> None:
    """On every kind of query of the recall set (paraphrase, pasted error, keyword), hybrid
    recall@5 is at least that of full text alone and of meaning alone, but for one query: on
    this tiny knowledge base (32 entries, no others) one paraphrase's single shared word still
    outweighs meaning (the bench measures the same set among distractors)."""
    kb, ids = indexed
    semantic = kb.semantic
    assert semantic is not None
    seq_of = {r["id"]: r["seq"] for r in kb.db.query("SELECT id, seq FROM kb_entries")}
    for kind in ("paraphrase", "pasted_error", "keyword"):
        queries = [q for q in recall_set["queries"] if q["kind"] == kind]
        found = {"words": 0, "meaning": 0, "hybrid": 0}
        for q in queries:
            want = ids[q["expect"]]
            found["words"] += want in [h.entry.id for h in kb.search(q["text"], 5, mode="words")]
            found["meaning"] += seq_of[want] in [n.seq for n in semantic.nearest(q["text"], 5)]
            found["hybrid"] += want in [h.entry.id for h in kb.search(q["text"], 5)]
        assert found["hybrid"] >= max(found["words"], found["meaning"]) - 1, (kind, found)


def test_imported_entries_are_searchable_by_meaning(
    tmp_path: Path, model: MiniLM, clock: FixedClock
) -> None:
    """An entry that arrives by Markdown import is found by a paraphrase like an added one."""
    folder = tmp_path / "team-kb"
    (folder / "fix").mkdir(parents=True)
    (folder / "fix" / "ports.md").write_text(
        '---\nkind: "fix"\ntitle: "Port 8000 already in use by a stale dev server"\n---\n\n'
        "A previous uvicorn kept running. Find it with `lsof -i :8000` and kill it.\n"
    )
    db = Database(tmp_path / "vigil.db")
    kb = KnowledgeBase(db, clock, semantic=VectorStore(db, lambda: model))
    kb.add("note", "Staging is refreshed every Sunday", "A sanitized copy replaces staging.")
    report = kb.import_(folder)
    kb.index()
    hits = kb.search("cannot start local web app because something else listens there", 3)
    assert hits[0].entry.id == report.created[0]
    db.close()


def test_changing_an_entry_drops_its_stale_vector(
    tmp_path: Path, model: MiniLM, clock: FixedClock
) -> None:
    """Editing an entry's text deletes its vector in the same statement; the next sync (a
    search) computes a fresh one, and deleting the entry deletes its vector."""
    db = Database(tmp_path / "vigil.db")
    store = VectorStore(db, lambda: model)
    kb = KnowledgeBase(db, clock, semantic=store)
    entry = kb.add("note", "Pager rotation lives in the ops wiki")
    assert store.sync() == 1 and store.count() == 1
    kb.update(entry.id, confidence=0.7)  # not text: the vector stays
    assert store.count() == 1
    kb.update(entry.id, body="Escalation contacts too")
    assert store.count() == 0 and store.pending() == 1
    kb.search("on-call escalation", 3)
    assert store.count() == 1
    kb.remove(entry.id)
    assert store.count() == 0
    db.close()


def test_search_degrades_to_words_when_the_model_cannot_load(
    tmp_path: Path, clock: FixedClock
) -> None:
    """With semantic recall configured but its model missing, search answers by words alone
    (no error), and an explicit hybrid search says why it cannot."""

    def missing() -> MiniLM:
        raise ConfigError("semantic search is not installed: run `make semantic`")

    db = Database(tmp_path / "vigil.db")
    kb = KnowledgeBase(db, clock, semantic=VectorStore(db, missing))
    kb.add("fix", "Recreate the test database", "Run make db-reset")
    with pytest.raises(ConfigError, match="make semantic"):
        kb.search("database", 3, mode="hybrid")
    hits = kb.search("database", 3)
    assert [h.match for h in hits] == ["words"]
    assert kb.semantic is None
    db.close()


def test_fusion_lets_a_clear_winner_beat_flat_noise() -> None:
    """A full-text list of near-equal noise does not bury an entry that stands out by meaning;
    a keyword found in one entry stands out as much as it should."""
    noise = [(i, 0.5 - i * 0.001) for i in range(1, 30)]
    meaning = [(99, 0.62)] + [(200 + i, 0.3 - i * 0.002) for i in range(40)]
    assert fuse(noise, meaning, 5)[0].key == 99
    assert standout([0.45])[0] > 5
    assert standout([0.5, 0.5, 0.5], pool=3) == [0.0, 0.0, 0.0]
