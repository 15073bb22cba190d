"""What the knowledge base offers for a failure, and how learned fixes gain or lose trust."""

from __future__ import annotations

import pytest

from vigil.errors import ValidationError
from vigil.memory import KnowledgeBase

from .conftest import FixedClock

FP = "a1b2c3d4e5f60718"
OTHER = "0000000000000001"
FAILURE = "ConnectionError: redis connection refused on port 6379 in test_checkout"


def test_for_fingerprints_orders_active_then_confidence_then_seen(kb: KnowledgeBase) -> None:
    """Linked entries come active first, then by confidence, then by how often they were seen."""
    low = kb.add("fix", "active low", fingerprints=[FP], confidence=0.3)
    high = kb.add("fix", "active high", fingerprints=[FP], confidence=0.9)
    often = kb.add("fix", "active high seen", fingerprints=[FP], confidence=0.9, seen=4)
    learned = kb.add("fix", "candidate", fingerprints=[FP], status="candidate", confidence=0.95)
    kb.add("fix", "rejected", fingerprints=[FP], status="rejected")
    kb.add("fix", "elsewhere", fingerprints=[OTHER])
    assert kb.for_fingerprints(FP) == [often, high, low, learned]
    assert len(kb.for_fingerprints([FP, OTHER])) == 5
    assert kb.for_fingerprints([]) == []


def test_for_fingerprints_refuses_malformed_fingerprints(kb: KnowledgeBase) -> None:
    """A fingerprint that is not 16 hex characters is an error, not a silent miss."""
    with pytest.raises(ValidationError, match="16 hexadecimal"):
        kb.for_fingerprints(["not-a-fingerprint"])


def test_known_fixes_put_fingerprint_matches_before_text_matches(kb: KnowledgeBase) -> None:
    """Exact fingerprint links come first; similar fixes found by text follow, without repeats."""
    linked = kb.add("note", "Checkout needs redis", fingerprints=[FP], confidence=0.7)
    linked_fix = kb.add(
        "fix",
        "Start redis before test_checkout",
        body="redis connection refused",
        fingerprints=[FP],
    )
    similar = kb.add("fix", "Redis refused connections", body="Port 6379 closed: start redis.")
    kb.add("note", "Redis connection refused notes", body="port 6379 refused in test_checkout")
    kb.add("fix", "Unrelated webpack fix", body="Clear the cache.")
    fixes = kb.known_fixes([FP], FAILURE)
    assert [(f.entry.id, f.match) for f in fixes] == [
        (linked_fix.id, "fingerprint"),
        (linked.id, "fingerprint"),
        (similar.id, "text"),
    ]
    assert fixes[0].score == 1.0 and fixes[1].score == 0.7
    assert 0.0 < fixes[2].score < 1.0


def test_known_fixes_never_offer_rejected_entries(kb: KnowledgeBase) -> None:
    """A rejected entry is offered neither by fingerprint nor by text."""
    wrong = kb.add("fix", "Redis connection refused: reboot", fingerprints=[FP])
    kb.reject(wrong.id)
    kb.add("fix", "Redis connection refused on port 6379", status="rejected")
    assert kb.known_fixes([FP], FAILURE) == []


def test_known_fixes_respect_the_limit_and_minimum_relevance(kb: KnowledgeBase) -> None:
    """At most `limit` fixes come back, and barely similar text does not count as a match."""
    for i in range(4):
        kb.add("fix", f"redis fix {i}", fingerprints=[FP])
    kb.add("fix", "redis connection refused port 6379 test_checkout")
    assert len(kb.known_fixes([FP], FAILURE, limit=3)) == 3
    assert [f.match for f in kb.known_fixes([FP], FAILURE, limit=5)].count("text") == 1


def test_noise_words_alone_do_not_make_a_text_match(kb: KnowledgeBase) -> None:
    """Sharing only words like 'in', 'test' or 'error' with the failure is not similarity."""
    kb.add("mistake", "Webpack error in test", body="A failed build on the port")
    kb.add("fix", "Redis refused connections", body="Port 6379 closed: start redis.")
    assert [f.entry.title for f in kb.known_fixes([], FAILURE)] == ["Redis refused connections"]


def test_known_fixes_with_text_without_words_use_fingerprints_only(kb: KnowledgeBase) -> None:
    """A failure whose text has no words still gets its fingerprint matches."""
    linked = kb.add("fix", "linked", fingerprints=[FP])
    assert [f.entry for f in kb.known_fixes(FP, "::: !!!")] == [linked]
    assert kb.known_fixes([], "") == []


def test_recording_a_candidate_fix_stores_a_learned_candidate(kb: KnowledgeBase) -> None:
    """A first candidate fix is a `fix` in status candidate, seen once, linked to the failure."""
    entry = kb.record_candidate_fix(
        FP,
        "Changed src/cache.py",
        "The failure turned green after this change.",
        {"events": ["ev_1"], "files": ["src/cache.py"], "commits": ["abc123"]},
    )
    assert (entry.kind, entry.status, entry.seen, entry.confidence) == ("fix", "candidate", 1, 0.5)
    assert entry.fingerprints == (FP,)
    assert entry.provenance["source"] == "learner" and entry.provenance["events"] == ["ev_1"]
    assert [f.entry.id for f in kb.known_fixes(FP, "")] == [entry.id]


def test_the_same_change_again_raises_confidence_instead_of_duplicating(
    kb: KnowledgeBase, clock: FixedClock
) -> None:
    """The same files for the same fingerprint bump seen and confidence; candidates cap at 0.95."""
    first = kb.record_candidate_fix(
        FP, "Changed two files", "", {"events": ["ev_1"], "files": ["b.py", "a.py"]}
    )
    clock.advance(60)
    again = kb.record_candidate_fix(
        FP, "Changed two files", "", {"events": ["ev_2"], "files": ["a.py", "b.py"]}
    )
    assert again.id == first.id and kb.count() == 1
    assert (again.seen, again.confidence) == (2, 0.625)
    assert again.provenance["events"] == ["ev_1", "ev_2"]
    assert again.updated > first.updated
    for _ in range(30):
        latest = kb.record_candidate_fix(FP, "Changed two files", "", {"files": ["a.py", "b.py"]})
    assert latest.seen == 32 and latest.confidence == 0.95 and latest.status == "candidate"


def test_a_different_change_is_a_different_candidate(kb: KnowledgeBase) -> None:
    """Other files, or another fingerprint, make a separate candidate."""
    one = kb.record_candidate_fix(FP, "one", "", {"files": ["a.py"]})
    two = kb.record_candidate_fix(FP, "two", "", {"files": ["a.py", "c.py"]})
    three = kb.record_candidate_fix(OTHER, "three", "", {"files": ["a.py"]})
    assert len({one.id, two.id, three.id}) == 3


def test_confirm_makes_a_candidate_active_and_records_who(kb: KnowledgeBase) -> None:
    """confirm() activates the entry, lifts confidence to at least 0.9 and keeps who and when."""
    candidate = kb.record_candidate_fix(FP, "learned", "", {"files": ["a.py"]})
    confirmed = kb.confirm(candidate.id[:12], by="ana")
    assert (confirmed.status, confirmed.confidence) == ("active", 0.9)
    assert confirmed.provenance["confirmed_by"] == "ana"
    assert confirmed.provenance["confirmed_at"] == confirmed.updated
    again = kb.record_candidate_fix(FP, "learned", "", {"files": ["a.py"]})
    assert again.id == candidate.id and again.status == "active" and again.confidence == 0.925


def test_a_rejected_fix_stays_rejected_when_the_learner_sees_it_again(kb: KnowledgeBase) -> None:
    """reject() hides the fix for good: seeing the same change again only counts the sighting."""
    candidate = kb.record_candidate_fix(FP, "learned", "", {"files": ["a.py"]})
    rejected = kb.reject(candidate.id, by="bo", reason="coincidence")
    assert rejected.status == "rejected"
    assert rejected.provenance["rejected_by"] == "bo"
    assert rejected.provenance["rejection_reason"] == "coincidence"
    again = kb.record_candidate_fix(FP, "learned", "", {"files": ["a.py"]})
    assert (again.id, again.status, again.seen, again.confidence) == (
        candidate.id,
        "rejected",
        2,
        candidate.confidence,
    )
    assert kb.known_fixes(FP, "learned") == [] and kb.count() == 1


def test_seen_again_counts_a_sighting_and_its_event(kb: KnowledgeBase) -> None:
    """seen_again() adds one sighting, a little confidence and the event id."""
    entry = kb.add("fix", "manual", confidence=0.8, seen=1, provenance={"events": ["ev_1"]})
    seen = kb.seen_again(entry.id, event_id="ev_9")
    assert (seen.seen, seen.confidence) == (2, 0.85)
    assert seen.provenance["events"] == ["ev_1", "ev_9"]
