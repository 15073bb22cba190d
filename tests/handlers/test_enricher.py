"""Triage enrichment: ranking options for small models, grounding, and the fall-through to rules."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from vigil.handlers.enricher import Enricher, from_ranking, options, ranking_request
from vigil.memory.receipts import ReceiptStore
from vigil.reasoning.chain import FallbackChain, Link, breaker_for
from vigil.reasoning.provider import Response
from vigil.reliability import BreakerRegistry, BreakerStore
from vigil.storage import Database
from vigil.testing import FakeClock, ScriptedProvider

DIAGNOSIS = {
    "summary": "1 failure (pytest): test_calc.py:4 AssertionError: assert -1 == 5",
    "failures": [
        {
            "tool": "pytest",
            "file": "test_calc.py",
            "line": 4,
            "test": "test_calc.py::test_add",
            "error_type": "AssertionError",
            "message": 'assert "-1" == 5',
        }
    ],
    "known_fixes": [
        {
            "id": "kb_01ABCDEFGH",
            "title": 'Fix "add" in calc\\py',
            "match": "text",
            "confidence": 0.5,
        }
    ],
    "suspects": [{"path": "calc.py", "reasons": ["the code a failing test is named after"]}],
    "history": {"seen": 0, "flaky": False},
}


def test_ranking_options_are_facts_without_quotes() -> None:
    """Options for a small model are whole causes worded from the diagnosis, deduplicated, and
    free of the double quotes and backslashes that break llama.cpp's grammar parser."""
    found = options(DIAGNOSIS)
    assert [c.kind for c in found] == ["suspect", "assertion"]
    assert "calc.py" in found[0].explanation and "calc.py" in found[0].next_step
    assert "test_calc.py:4" in found[1].next_step
    for cause in found:
        for text in (cause.explanation, cause.next_step):
            assert '"' not in text and "\\" not in text
    assert len({c.explanation for c in found}) == len(found)


def test_ranking_answer_becomes_an_enrichment() -> None:
    """A ranking answer is turned into the picked cause's explanation and its own next step."""
    found = options(DIAGNOSIS)
    answer = Response(text=json.dumps({"cause": "C2"}), provider="p", model="m")
    enrichment = from_ranking(answer, DIAGNOSIS)
    assert enrichment == {"explanation": found[1].explanation, "next_step": found[1].next_step}
    with pytest.raises(ValueError):
        from_ranking(Response(text=json.dumps({"cause": "C9"}), provider="p", model="m"), DIAGNOSIS)


async def test_ungrounded_model_text_falls_through_to_rules(tmp_path: Path) -> None:
    """A capable-model enrichment that names nothing from the diagnosis is discarded and the
    next provider answers; the receipt says why the first was skipped."""
    db = Database(tmp_path / "v.db")
    registry = BreakerRegistry(BreakerStore(db))
    vague = ScriptedProvider(
        "cloud",
        [
            Response(
                text=json.dumps(
                    {"explanation": "Something went wrong.", "next_step": "Try again."}
                ),
                provider="cloud",
                model="big",
            )
        ],
    )
    grounded = ScriptedProvider(
        "rules",
        [
            Response(
                text=json.dumps(
                    {"explanation": "calc.py changed.", "next_step": "Review calc.py."}
                ),
                provider="rules",
                model="rules-1",
            )
        ],
    )
    chain = FallbackChain(
        [
            Link(vague, breaker_for(registry, "cloud"), kind="openai"),
            Link(grounded, breaker_for(registry, "rules"), kind="rules"),
        ]
    )
    clock = FakeClock()
    enricher = Enricher(chain=chain, receipts=ReceiptStore(db, clock), clock=clock)
    from vigil.events.model import new_event

    triage = new_event("triage.completed", DIAGNOSIS, clock=clock, source="t")
    try:
        enrichment, run = await enricher.enrich(triage, deadline=time.monotonic() + 5)
    finally:
        db.close()
    assert run.provider == "rules" and enrichment["next_step"] == "Review calc.py."
    assert "names nothing from the diagnosis" in run.skipped[0].reason


async def test_embedded_model_ranks_tricky_options_validly() -> None:
    """The real embedded model answers a ranking request whose options carry quotes and
    backslashes in the source titles with a valid choice (skipped when not installed)."""
    from vigil.reasoning.providers.embedded import EmbeddedProvider

    if not EmbeddedProvider.available():
        pytest.skip("the embedded model is not installed")
    provider = EmbeddedProvider()
    response = await provider.complete(ranking_request(DIAGNOSIS, time.monotonic() + 30))
    enrichment = from_ranking(response, DIAGNOSIS)
    assert enrichment["explanation"] in [c.explanation for c in options(DIAGNOSIS)]
