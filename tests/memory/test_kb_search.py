"""Full-text search: plain-text queries, ranking, index consistency and the common-word planner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.errors import ValidationError
from vigil.memory import KnowledgeBase, SearchHit, SearchTuning
from vigil.storage import Database

from .conftest import FixedClock
from .corpus import populate
from .probes import fts_is_consistent


def titles(hits: list[SearchHit]) -> list[str]:
    return [hit.entry.title for hit in hits]


def test_search_finds_words_in_title_body_and_tags(kb: KnowledgeBase) -> None:
    """A word is found whether it is in the title, the body or a tag."""
    kb.add("fix", "Redis timeout in CI", body="Raise the timeout.")
    kb.add("note", "Deploy checklist", body="Check redis before deploying.")
    kb.add("pattern", "Nightly job", tags=["redis"])
    kb.add("note", "Unrelated")
    assert sorted(titles(kb.search("redis"))) == [
        "Deploy checklist",
        "Nightly job",
        "Redis timeout in CI",
    ]


def test_title_matches_rank_above_body_matches(kb: KnowledgeBase) -> None:
    """An entry whose title holds the words ranks above one that mentions them in passing."""
    kb.add("note", "Release notes", body="Mentions a flaky fixture once among many other words.")
    kb.add("fix", "Flaky fixture cleanup", body="Close the socket in teardown.")
    hits = kb.search("flaky fixture")
    assert titles(hits) == ["Flaky fixture cleanup", "Release notes"]
    assert 0.0 < hits[1].score < hits[0].score < 1.0


def test_entries_holding_every_word_rank_first(kb: KnowledgeBase) -> None:
    """With several words, entries that hold all of them beat entries that hold one."""
    kb.add("note", "postgres upgrade")
    kb.add("note", "deadlock in postgres during migration")
    kb.add("note", "deadlock in the scheduler")
    assert titles(kb.search("postgres deadlock"))[0] == "deadlock in postgres during migration"


def test_snippet_shows_the_matched_words_in_bold(kb: KnowledgeBase) -> None:
    """The snippet is the stretch of the body around the matches, with the words in bold."""
    filler = " ".join(f"word{i}" for i in range(60))
    kb.add("fix", "Cache", body=f"{filler} then the Cache-Key collided {filler}")
    (hit,) = kb.search("cache key")
    assert "**Cache**-**Key** collided" in hit.snippet
    assert hit.snippet.startswith("… ") and hit.snippet.endswith(" …")


def test_index_follows_updates(kb: KnowledgeBase, db: Database) -> None:
    """After an update the old words no longer find the entry and the new ones do."""
    entry = kb.add("fix", "walrus problem", body="alpha", tags=["oldtag"])
    kb.update(entry.id, title="narwhal problem", body="beta", tags=["newtag"])
    assert kb.search("walrus") == [] and kb.search("alpha") == [] and kb.search("oldtag") == []
    for word in ("narwhal", "beta", "newtag"):
        assert [hit.entry.id for hit in kb.search(word)] == [entry.id]
    assert fts_is_consistent(db)


def test_index_forgets_removed_entries(kb: KnowledgeBase, db: Database) -> None:
    """A removed entry is never returned by search again and the index stays consistent."""
    entries = [kb.add("note", f"platypus {i}") for i in range(5)]
    for entry in entries[:3]:
        kb.remove(entry.id)
    assert {hit.entry.id for hit in kb.search("platypus")} == {e.id for e in entries[3:]}
    assert fts_is_consistent(db)


@pytest.mark.parametrize(
    "query",
    [
        'redis: "timeout',
        "redis AND NOT timeout",
        "title:redis",
        "(redis) OR {timeout}",
        "redis^2 NEAR(timeout)",
        "-redis +timeout",
        "redis' timeout;--",
        "redis*timeout*",
        "redis\x00timeout",
    ],
)
def test_fts_syntax_in_a_query_is_just_text(kb: KnowledgeBase, query: str) -> None:
    """Quotes, operators, column filters and punctuation never reach FTS5 as syntax."""
    kb.add("fix", "Redis timeout", body="Raise the timeout")
    kb.add("note", "Other")
    assert titles(kb.search(query)) == ["Redis timeout"]


def test_hyphenated_words_match_both_ways(kb: KnowledgeBase) -> None:
    """'flaky-test' finds 'flaky test' and 'flaky test' finds 'flaky-test'."""
    kb.add("pattern", "The flaky-test quarantine")
    kb.add("pattern", "A flaky test again")
    assert len(kb.search("flaky-test")) == 2
    assert len(kb.search("flaky test")) == 2


def test_unicode_words_match_without_diacritics_or_case(kb: KnowledgeBase) -> None:
    """Case and diacritics do not matter, and non-Latin words are searchable."""
    kb.add("note", "Café crème configuration")
    kb.add("note", "Ошибка сборки")
    kb.add("note", "İstanbul mirror")
    assert titles(kb.search("CAFE CREME")) == ["Café crème configuration"]
    assert titles(kb.search("ошибка")) == ["Ошибка сборки"]
    assert titles(kb.search("istanbul")) == ["İstanbul mirror"]


@pytest.mark.parametrize("query", ["", "   ", "!!!", '"" ***', "🔥 ✓", "_"])
def test_a_query_without_words_is_a_validation_error(kb: KnowledgeBase, query: str) -> None:
    """A query with no letters or digits is refused with a clear message."""
    kb.add("note", "anything")
    with pytest.raises(ValidationError, match="no words to search for"):
        kb.search(query)


def test_search_on_an_empty_knowledge_base_returns_nothing(kb: KnowledgeBase) -> None:
    """Searching before anything is stored returns an empty list."""
    assert kb.search("anything") == []


def test_a_star_or_an_unfinished_last_word_matches_a_prefix(kb: KnowledgeBase) -> None:
    """'time*' matches 'timeout'; so does an unfinished last word, unless prefix_last is off."""
    kb.add("fix", "Raise the timeout")
    kb.add("fix", "Timestamps drift")
    assert len(kb.search("time*")) == 2
    assert titles(kb.search("raise timeo")) == ["Raise the timeout"]
    assert kb.search("timeo", prefix_last=False) == []
    assert kb.search("timeo ", prefix_last=True) == []


def test_kind_filter_and_rejected_entries(kb: KnowledgeBase) -> None:
    """kind= narrows the search; rejected entries only appear with include_rejected."""
    fix = kb.add("fix", "gecko fix")
    note = kb.add("note", "gecko note")
    wrong = kb.add("fix", "gecko wrong", status="rejected")
    assert {h.entry.id for h in kb.search("gecko")} == {fix.id, note.id}
    assert [h.entry.id for h in kb.search("gecko", kind="note")] == [note.id]
    assert {h.entry.id for h in kb.search("gecko", include_rejected=True)} == {
        fix.id,
        note.id,
        wrong.id,
    }


def test_limit_caps_the_hits(kb: KnowledgeBase) -> None:
    """No more than `limit` hits are returned, and a limit below 1 is refused."""
    for i in range(8):
        kb.add("note", f"lemur {i}")
    assert len(kb.search("lemur", limit=3)) == 3
    with pytest.raises(ValidationError, match="limit"):
        kb.search("lemur", limit=0)


# --- the planner on a corpus where some words are everywhere ------------------------------------

SMALL = SearchTuning(common_df=40, rare_budget=80, pool=30)


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """400 synthetic entries ('error' in ~90%, 'test' in ~80%) with a planner tuned to match."""
    db = Database(tmp_path_factory.mktemp("corpus") / "state.db")
    kb = KnowledgeBase(db, FixedClock(), tuning=SMALL)
    populate(db, kb, 400)
    kb.add("fix", "Zanzibar outage", body="error error test: restart the zanzibar relay")
    yield kb
    db.close()


def test_all_common_words_take_the_newest_matches(corpus_kb: KnowledgeBase) -> None:
    """When every word is common, hits still hold the words (newest matches, re-ranked)."""
    plan = corpus_kb.explain("error test")
    assert plan.strategy == "common" and plan.rare == ()
    assert all(not word.exact_df and word.df > SMALL.common_df for word in plan.words)
    hits = corpus_kb.search("error test", limit=10)
    assert len(hits) == 10
    for hit in hits:
        words = f"{hit.entry.title} {hit.entry.body}".split()
        assert "error" in words and any(w.startswith("test") for w in words)


def test_common_word_frequency_is_estimated_close_to_the_truth(corpus_kb: KnowledgeBase) -> None:
    """The estimated frequency of a common word is within a third of its real count."""
    (word,) = corpus_kb.explain("error", prefix_last=False).words
    real = sum(1 for e in corpus_kb.list(limit=None) if "error" in e.body.split())
    assert abs(word.df - real) < real / 3


def test_a_rare_word_leads_a_mixed_query(corpus_kb: KnowledgeBase) -> None:
    """With one rare word among common ones, the entry holding the rare word ranks first."""
    plan = corpus_kb.explain("zanzibar error test")
    assert plan.strategy == "rare" and plan.rare == ("zanzibar",)
    hits = corpus_kb.search("zanzibar error test", limit=5)
    assert hits[0].entry.title == "Zanzibar outage"
    assert len(hits) == 5  # the rare word matched one entry; common words fill the rest


def test_words_absent_from_the_index_are_ignored(corpus_kb: KnowledgeBase) -> None:
    """A word that no entry holds does not stop the other words from matching."""
    hits = corpus_kb.search("zanzibar qwxyzzyq", limit=3)
    assert [h.entry.title for h in hits] == ["Zanzibar outage"]
    assert corpus_kb.search("qwxyzzyq") == []


@settings(max_examples=300, deadline=None)
@given(query=st.text(max_size=60))
def test_search_never_fails_on_arbitrary_text(corpus_kb: KnowledgeBase, query: str) -> None:
    """Any text either searches (a list) or, with no words in it, raises ValidationError."""
    try:
        hits = corpus_kb.search(query, limit=5)
    except ValidationError as exc:
        assert "no words to search for" in str(exc)
    else:
        assert isinstance(hits, list) and len(hits) <= 5


@settings(max_examples=100, deadline=None)
@given(
    words=st.lists(st.sampled_from(["error", "test", "failed", "build", "zanzibar"]), min_size=1)
)
def test_scores_are_normalized(corpus_kb: KnowledgeBase, words: list[str]) -> None:
    """Scores are in (0, 1) and hits come best first."""
    hits = corpus_kb.search(" ".join(words), limit=10)
    scores = [hit.score for hit in hits]
    assert all(0.0 < s < 1.0 for s in scores) and scores == sorted(scores, reverse=True)
