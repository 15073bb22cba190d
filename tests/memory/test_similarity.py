"""Similar fixes need evidence beyond shared words, and say how similar they are and why."""

from __future__ import annotations

from vigil.memory import KnowledgeBase
from vigil.memory.similarity import FailureFacts, judge

CART_FP = "c0ffee0000000001"
USER_FP = "c0ffee0000000002"


def cart_facts() -> FailureFacts:
    return FailureFacts.of(
        tools=["pytest"],
        error_types=["AssertionError"],
        files=["tests/test_cart.py"],
        tests=["tests/test_cart.py::test_discount"],
    )


def learned_cart_fix(kb: KnowledgeBase) -> str:
    entry = kb.record_candidate_fix(
        CART_FP,
        "Fixed by changing shop/cart.py",
        "`pytest -q` passed again after these changes:\n\n- `shop/cart.py`, uncommitted\n\n"
        "The failure: AssertionError in `tests/test_cart.py::test_discount` assert 110 == 90",
        {
            "files": ["shop/cart.py"],
            "relevant": ["shop/cart.py"],
            "failure": cart_facts().to_dict(),
        },
    )
    assert entry is not None
    return entry.id


def test_facts_name_the_code_under_test() -> None:
    """Failure facts normalize paths and error types and find the code a test is named after."""
    facts = FailureFacts.of(
        tools=["pytest", None],
        error_types=["KeyError"],
        files=["./tests\\test_cart.py", "src/cart.test.ts"],
        tests=["tests/test_cart.py::test_total", ""],
    )
    assert facts.files == ("tests/test_cart.py", "src/cart.test.ts")
    assert facts.error_types == ("KeyError",) and facts.stems == ("cart",)
    assert FailureFacts.from_dict(facts.to_dict()) == facts
    assert FailureFacts.from_dict("nonsense") == FailureFacts()


def test_another_assertion_in_the_same_test_is_a_similar_fix(kb: KnowledgeBase) -> None:
    """A learned fix for the same test is offered for a new failure there, saying why."""
    fix_id = learned_cart_fix(kb)
    facts = FailureFacts.of(
        tools=["pytest"],
        error_types=["AssertionError"],
        files=["tests/test_cart.py"],
        tests=["tests/test_cart.py::test_discount"],
    )
    (fix,) = kb.known_fixes([], "AssertionError assert 110 == 95 test_discount cart", facts=facts)
    assert fix.entry.id == fix_id and fix.match == "text"
    assert fix.because == "same AssertionError in tests/test_cart.py::test_discount"
    assert 0.5 < fix.similarity <= 1.0 and fix.score == fix.similarity * fix.entry.confidence


def test_an_unrelated_test_sharing_words_gets_no_similar_fix(kb: KnowledgeBase) -> None:
    """A failure in another test with the same generic error and shared words is not offered the
    cart fix (it would be called the cause), though plain text search still finds it."""
    learned_cart_fix(kb)
    text = "AssertionError assert 110 == 90 test_login pytest"
    facts = FailureFacts.of(
        tools=["pytest"],
        error_types=["AssertionError"],
        files=["tests/test_user.py"],
        tests=["tests/test_user.py::test_login"],
    )
    assert kb.known_fixes([USER_FP], text, facts=facts) == []
    assert [f.because for f in kb.known_fixes([USER_FP], text)] == ["shares words"]


def test_a_failure_in_the_code_a_fix_changed_is_evidence(kb: KnowledgeBase) -> None:
    """A new failing test of the cart code is offered the fix that changed shop/cart.py."""
    learned_cart_fix(kb)
    facts = FailureFacts.of(
        tools=["pytest"],
        error_types=["TypeError"],
        files=["tests/unit/test_cart.py"],
        tests=["tests/unit/test_cart.py::test_empty_cart"],
    )
    (fix,) = kb.known_fixes([], "TypeError cart total", facts=facts)
    assert fix.because == "its change touched shop/cart.py, the code under test"


def test_a_specific_error_type_with_shared_text_is_evidence(kb: KnowledgeBase) -> None:
    """A hand-written fix naming the same specific error type, with real shared text, passes;
    one that only shares words does not."""
    named = kb.add(
        "fix", "Install redis client", body="ModuleNotFoundError: No module named 'redis'."
    )
    kb.add("fix", "Redis notes", body="The redis module and its client.")
    facts = FailureFacts.of(
        tools=["python"], error_types=["ModuleNotFoundError"], files=["app/cache.py"]
    )
    fixes = kb.known_fixes([], "ModuleNotFoundError No module named redis", facts=facts)
    assert [f.entry.id for f in fixes] == [named.id]
    assert fixes[0].because == "same ModuleNotFoundError"


def test_a_fingerprint_match_is_the_same_failure(kb: KnowledgeBase) -> None:
    """A fix linked by fingerprint has similarity 1 and says it is the same failure."""
    linked = kb.add("fix", "Linked", fingerprints=[CART_FP])
    (fix,) = kb.known_fixes([CART_FP], "", facts=cart_facts())
    assert (fix.entry.id, fix.similarity, fix.because) == (
        linked.id,
        1.0,
        "same failure (fingerprint)",
    )
    assert fix.to_dict()["similarity"] == 1.0


def test_judge_explains_what_is_shared(kb: KnowledgeBase) -> None:
    """The reason names the shared code under test, and a shared tool alone is no evidence."""
    entry = kb.add(
        "fix",
        "Parser fix",
        provenance={"failure": {"tools": ["pytest"]}, "files": ["lib/parser.py"]},
    )
    facts = FailureFacts.of(tools=["pytest"], files=["tests/test_parser.py"])
    verdict = judge(facts, entry, 0.0)
    assert verdict.evidence
    assert verdict.because == "its change touched lib/parser.py, the code under test"
    tool_only = judge(FailureFacts.of(tools=["pytest"]), entry, 0.9)
    assert not tool_only.evidence and tool_only.because == "same tool (pytest) only"
