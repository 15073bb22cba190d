"""The fallback chain against a real OpenAI-compatible server on 127.0.0.1 with injected faults:
under each fault the chain answers within its deadline from the next healthy provider."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.reasoning.openai_server import Hang, OpenAIServer, Raw, Reply, Status, provider_for
from vigil.reasoning.chain import ChainExhausted, FallbackChain, Link, breaker_for
from vigil.reasoning.provider import Message, Request, Response
from vigil.reasoning.usage import UsageStore
from vigil.reliability import BreakerRegistry, BreakerStore
from vigil.storage import Database
from vigil.testing import ScriptedProvider

QUESTION = Request(messages=(Message("user", "why did the build fail?"),))


def _chain(server: OpenAIServer, db: Database, *, timeout_s: float = 1.0) -> FallbackChain:
    registry = BreakerRegistry(BreakerStore(db))
    remote = provider_for(server, timeout_s=timeout_s)
    fallback = ScriptedProvider(
        "rules", [Response(text="from rules", provider="rules", model="rules-1")] * 50
    )
    return FallbackChain(
        [
            Link(remote, breaker_for(registry, remote.name), kind="openai", timeout_s=timeout_s),
            Link(fallback, breaker_for(registry, "rules"), kind="rules"),
        ],
        usage=UsageStore(db, _clock()),
    )


def _clock() -> Any:
    from vigil.clock import SystemClock

    return SystemClock()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Hang(), "no answer"),
        (Reply(text="late", delay_ms=3000), "no answer"),
        (Status(500), "failed"),
        (Status(502), "failed"),
        (Status(503), "failed"),
        (Status(429, "slow down", headers={"Retry-After": "30"}), "rate limited"),
        (Raw(b"{not json"), "failed"),
        (Reply(text="cut off mid-way", cut_after=1), "failed"),
    ],
)
async def test_each_fault_falls_through_to_the_next_provider_in_time(
    openai_server: OpenAIServer, tmp_path: Path, fault: object, reason: str
) -> None:
    """A hang, latency past the timeout, 5xx, 429, malformed JSON or a cut-off body: the chain
    answers from the next provider before its deadline and says why the first was skipped."""
    openai_server.default = fault  # type: ignore[assignment]
    db = Database(tmp_path / "v.db")
    chain = _chain(openai_server, db)
    started = time.monotonic()
    try:
        run = await chain.complete(QUESTION, deadline=started + 5.0)
    finally:
        await chain.links[0].provider.aclose()  # type: ignore[attr-defined]
        db.close()
    assert time.monotonic() - started < 5.0 + 1.0
    assert run.provider == "rules" and run.value.text == "from rules"
    assert run.skipped[0].provider == chain.links[0].name
    assert reason in run.skipped[0].reason


async def test_healthy_provider_answers_first(openai_server: OpenAIServer, tmp_path: Path) -> None:
    """When the first provider is healthy it answers, and nothing is skipped."""
    openai_server.default = Reply(text="from the server")
    db = Database(tmp_path / "v.db")
    chain = _chain(openai_server, db)
    try:
        run = await chain.complete(QUESTION, deadline=time.monotonic() + 5)
    finally:
        await chain.links[0].provider.aclose()  # type: ignore[attr-defined]
        db.close()
    assert run.provider == chain.links[0].name and run.value.text == "from the server"
    assert run.skipped == () and run.prompt_tokens > 0


async def test_open_breaker_is_skipped_in_under_a_millisecond(
    openai_server: OpenAIServer, tmp_path: Path
) -> None:
    """After three failures the provider's breaker is open: the next calls skip it without
    contacting it, in well under a millisecond, and say so."""
    openai_server.default = Status(503)
    db = Database(tmp_path / "v.db")
    chain = _chain(openai_server, db)
    try:
        for _ in range(3):
            await chain.complete(QUESTION, deadline=time.monotonic() + 5)
        before = len(openai_server.chat_bodies)
        started = time.perf_counter()
        reason = chain._why_not(chain.links[0], time.monotonic() + 5)
        check_ms = (time.perf_counter() - started) * 1000
        run = await chain.complete(QUESTION, deadline=time.monotonic() + 5)
    finally:
        await chain.links[0].provider.aclose()  # type: ignore[attr-defined]
        db.close()
    assert reason is not None and "circuit open" in reason
    assert check_ms < 1.0
    assert len(openai_server.chat_bodies) == before
    assert run.provider == "rules" and "circuit open" in run.skipped[0].reason


async def test_rate_limit_is_respected_by_the_next_process(
    openai_server: OpenAIServer, tmp_path: Path
) -> None:
    """A 429 with Retry-After leaves the provider alone until then, also for a new chain on the
    same database (another Vigil process), without calling it again."""
    openai_server.default = Status(429, "slow down", headers={"Retry-After": "120"})
    db = Database(tmp_path / "v.db")
    first = _chain(openai_server, db)
    second = _chain(openai_server, db)
    try:
        await first.complete(QUESTION, deadline=time.monotonic() + 5)
        calls = len(openai_server.chat_bodies)
        run = await second.complete(QUESTION, deadline=time.monotonic() + 5)
    finally:
        for chain in (first, second):
            await chain.links[0].provider.aclose()  # type: ignore[attr-defined]
        db.close()
    assert len(openai_server.chat_bodies) == calls
    assert "rate limited" in run.skipped[0].reason and "Retry-After" in run.skipped[0].reason


async def test_daily_token_budget_skips_the_provider(
    openai_server: OpenAIServer, tmp_path: Path
) -> None:
    """Once today's token budget is spent, the provider is skipped with the figures."""
    openai_server.default = Reply(text="ok", prompt_tokens=60, completion_tokens=60)
    db = Database(tmp_path / "v.db")
    chain = _chain(openai_server, db)
    link = chain.links[0]
    chain.links[0] = Link(
        link.provider, link.breaker, kind="openai", timeout_s=1.0, daily_tokens=100
    )
    try:
        first = await chain.complete(QUESTION, deadline=time.monotonic() + 5)
        second = await chain.complete(QUESTION, deadline=time.monotonic() + 5)
    finally:
        await link.provider.aclose()  # type: ignore[attr-defined]
        db.close()
    assert first.provider == link.name
    assert (
        second.provider == "rules" and "daily budget spent: 120 of 100" in second.skipped[0].reason
    )


async def test_local_only_refuses_remote_providers(tmp_path: Path) -> None:
    """``local_only`` skips a provider that is not on this machine without calling it."""
    from vigil.reasoning.providers.openai import OpenAICompatibleProvider

    db = Database(tmp_path / "v.db")
    registry = BreakerRegistry(BreakerStore(db))
    remote = OpenAICompatibleProvider(
        name="far", base_url="https://example.invalid/v1", model="m", api_key="k"
    )
    rules = ScriptedProvider("rules", [Response(text="r", provider="rules", model="r")])
    chain = FallbackChain(
        [Link(remote, breaker_for(registry, "far")), Link(rules, breaker_for(registry, "rules"))],
        local_only=True,
    )
    try:
        run = await chain.complete(QUESTION, deadline=time.monotonic() + 5)
    finally:
        await remote.aclose()
        db.close()
    assert run.provider == "rules" and "local_only" in run.skipped[0].reason


async def test_every_provider_failing_raises_with_all_reasons(tmp_path: Path) -> None:
    """When no provider can answer, the error lists every provider and why."""
    from vigil.errors import ProviderUnavailable

    db = Database(tmp_path / "v.db")
    registry = BreakerRegistry(BreakerStore(db))
    broken = [
        ScriptedProvider(name, [ProviderUnavailable(f"{name} down", provider=name)] * 3)
        for name in ("a", "b")
    ]
    chain = FallbackChain([Link(p, breaker_for(registry, p.name)) for p in broken])
    try:
        with pytest.raises(ChainExhausted) as caught:
            await chain.complete(QUESTION, deadline=time.monotonic() + 5)
    finally:
        db.close()
    assert [s.provider for s in caught.value.skipped] == ["a", "b"]
    assert isinstance(caught.value.__cause__, ExceptionGroup)


@pytest.mark.parametrize("text", ["", "  \n\t  "])
async def test_an_empty_answer_falls_through_to_the_next_provider(
    openai_server: OpenAIServer, tmp_path: Path, text: str
) -> None:
    """A 200 answer with no text (or only whitespace) is that provider's failure: the next
    provider answers and the skip says why, with the tokens the attempt spent."""
    openai_server.default = Reply(text=text, prompt_tokens=5, completion_tokens=1)
    db = Database(tmp_path / "v.db")
    chain = _chain(openai_server, db)
    try:
        run = await chain.complete(QUESTION, deadline=time.monotonic() + 5)
    finally:
        await chain.links[0].provider.aclose()  # type: ignore[attr-defined]
        db.close()
    assert run.provider == "rules" and run.value.text == "from rules"
    (skip,) = run.skipped
    assert skip.provider == "testserver" and skip.reason == "failed: empty answer"
    assert (skip.prompt_tokens, skip.completion_tokens) == (5, 1)
    assert len(openai_server.chat_bodies) == 1


async def test_a_skip_reason_does_not_repeat_the_provider_name(tmp_path: Path) -> None:
    """An error that starts with its provider's name is not prefixed by it twice in the skip
    ("embedded: failed: embedded: ..." reads "embedded: failed: ...")."""
    from vigil.errors import ProviderRefused, ProviderResponseError

    db = Database(tmp_path / "v.db")
    registry = BreakerRegistry(BreakerStore(db))
    bad = ScriptedProvider("embedded", [ProviderResponseError("embedded: unusable ranking")])
    refused = ScriptedProvider("local", [ProviderRefused("provider 'local': not installed")])
    rules = ScriptedProvider("rules", [Response(text="r", provider="rules", model="r")])
    chain = FallbackChain([Link(p, breaker_for(registry, p.name)) for p in (bad, refused, rules)])
    try:
        run = await chain.complete(QUESTION, deadline=time.monotonic() + 5)
    finally:
        db.close()
    assert [s.to_dict() for s in run.skipped] == [
        {"provider": "embedded", "reason": "failed: unusable ranking"},
        {"provider": "local", "reason": "not installed"},
    ]
