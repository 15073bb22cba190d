"""OpenAICompatibleProvider under injected faults: each maps to the right error, in time."""

from __future__ import annotations

import socket
import time
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.reasoning.openai_server import (
    KEY,
    KEY_ENV,
    Hang,
    OpenAIServer,
    Raw,
    Reply,
    Status,
    ask,
    provider_for,
)
from vigil.errors import (
    ProviderError,
    ProviderResponseError,
    ProviderUnavailable,
    RateLimited,
)
from vigil.reasoning.providers.openai import OpenAICompatibleProvider

SCHEMA = {"type": "object", "properties": {"fix": {"type": "string"}}, "required": ["fix"]}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_latency_within_the_timeout_still_answers(openai_server: OpenAIServer) -> None:
    """A slow answer that arrives before timeout_s is returned normally."""
    openai_server.script(Reply(text="slow but fine", delay_ms=200))
    async with provider_for(openai_server, timeout_s=3.0) as provider:
        assert (await provider.complete(ask("hi"))).text == "slow but fine"


async def test_latency_beyond_timeout_s_is_unavailable_at_timeout_s(
    openai_server: OpenAIServer,
) -> None:
    """An answer slower than timeout_s raises ProviderUnavailable once timeout_s has passed."""
    openai_server.script(Reply(text="too late", delay_ms=3000))
    started = time.monotonic()
    async with provider_for(openai_server, timeout_s=0.3) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.complete(ask("hi"))
    assert time.monotonic() - started < 0.3 + 1.0
    assert caught.value.details["reason"] == "timeout"


async def test_a_hang_is_cut_at_the_request_deadline(openai_server: OpenAIServer) -> None:
    """A server that never answers is abandoned at the deadline, well before timeout_s."""
    openai_server.script(Hang())
    deadline = 0.4
    started = time.monotonic()
    async with provider_for(openai_server, timeout_s=10.0) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.complete(ask("hi", deadline=time.monotonic() + deadline))
    assert time.monotonic() - started < deadline + 1.0
    assert caught.value.details == {
        "provider": "testserver",
        "model": "test-model",
        "reason": "timeout",
    }


async def test_a_passed_deadline_fails_at_once_without_a_request(
    openai_server: OpenAIServer,
) -> None:
    """No time left means ProviderUnavailable before anything is sent."""
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.complete(ask("hi", deadline=time.monotonic() - 0.01))
    assert caught.value.details["reason"] == "deadline"
    assert openai_server.requests == []


async def test_the_provider_answers_again_once_the_fault_is_gone(
    openai_server: OpenAIServer,
) -> None:
    """Faults switch between requests: after a hang and a 503 the same instance answers."""
    openai_server.script(Hang(), Status(503), Reply(text="back"))
    async with provider_for(openai_server, timeout_s=0.3) as provider:
        with pytest.raises(ProviderUnavailable):
            await provider.complete(ask("1"))
        with pytest.raises(ProviderUnavailable):
            await provider.complete(ask("2"))
        assert (await provider.complete(ask("3"))).text == "back"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_unavailable(openai_server: OpenAIServer, status: int) -> None:
    """5xx answers raise ProviderUnavailable carrying the provider and the status."""
    openai_server.script(Status(status, message="upstream overloaded"))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.complete(ask("hi"))
    assert caught.value.details["provider"] == "testserver"
    assert caught.value.details["status"] == status
    assert "upstream overloaded" in str(caught.value)


async def test_a_refused_connection_is_unavailable() -> None:
    """Nothing listening on the port raises ProviderUnavailable."""
    provider = OpenAICompatibleProvider(
        name="gone", base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m"
    )
    async with provider:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.complete(ask("hi"))
    assert caught.value.details["provider"] == "gone"
    assert caught.value.details["reason"] == "unreachable"


async def test_a_body_cut_off_mid_way_is_unavailable(openai_server: OpenAIServer) -> None:
    """A plain answer whose connection drops half-way through raises ProviderUnavailable."""
    openai_server.script(Reply(text="x" * 400, cut_after=0))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderUnavailable):
            await provider.complete(ask("hi"))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"x-ratelimit-reset-requests": "1m30s", "x-ratelimit-reset-tokens": "250ms"}, 90.0),
        (
            {
                "x-ratelimit-reset-requests": "1m30s",
                "x-ratelimit-remaining-requests": "12",
                "x-ratelimit-reset-tokens": "6.5s",
                "x-ratelimit-remaining-tokens": "0",
            },
            6.5,
        ),
        ({}, None),
    ],
)
async def test_429_is_rate_limited_with_the_wait_the_server_asked_for(
    openai_server: OpenAIServer, headers: dict[str, str], expected: float | None
) -> None:
    """A 429 raises RateLimited whose retry_after comes from Retry-After, retry-after-ms, or the
    reset header of the exhausted limit."""
    openai_server.script(Status(429, message="slow down", headers=headers))
    async with provider_for(openai_server) as provider:
        with pytest.raises(RateLimited) as caught:
            await provider.complete(ask("hi"))
    assert caught.value.retry_after == expected
    assert caught.value.details["retry_after"] == expected
    assert caught.value.details["provider"] == "testserver"


async def test_429_with_an_http_date_waits_until_that_date(openai_server: OpenAIServer) -> None:
    """A Retry-After given as an HTTP date becomes the seconds from now until then."""
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=120)
    openai_server.script(Status(429, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    async with provider_for(openai_server) as provider:
        with pytest.raises(RateLimited) as caught:
            await provider.complete(ask("hi"))
    assert caught.value.retry_after is not None
    assert 115.0 <= caught.value.retry_after <= 120.0


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b'{"choices": [{"message": {"role": "assistant", "content": "trunc',
        b'{"id": "x", "object": "chat.completion"}',
        b'{"choices": []}',
        b'{"choices": [{"index": 0, "finish_reason": "stop"}]}',
        b"[1, 2, 3]",
    ],
)
async def test_a_malformed_answer_is_a_response_error(
    openai_server: OpenAIServer, body: bytes
) -> None:
    """A 200 whose body is not JSON, or not a chat completion, raises ProviderResponseError."""
    openai_server.script(Raw(body))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderResponseError) as caught:
            await provider.complete(ask("hi"))
    assert caught.value.details["provider"] == "testserver"


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_credentials_name_the_variable_to_check(
    openai_server: OpenAIServer, status: int
) -> None:
    """401 and 403 raise a plain ProviderError that says which environment variable to check."""
    openai_server.script(Status(status, message="Invalid API Key"))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(ask("hi"))
    error = caught.value
    assert type(error) is ProviderError
    assert KEY_ENV in str(error)
    assert error.details["reason"] == "auth"
    assert error.details["status"] == status


async def test_other_client_errors_quote_the_server_truncated(
    openai_server: OpenAIServer,
) -> None:
    """A 4xx other than 401/403/429 raises ProviderError with the server's message, cut short."""
    message = "The model `nope` does not exist. " + "Details follow. " * 40
    openai_server.script(Status(404, message=message))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(ask("hi"))
    error = caught.value
    assert type(error) is ProviderError
    assert "The model `nope` does not exist." in str(error)
    assert len(str(error)) < 300
    assert error.details["status"] == 404


async def test_an_error_object_inside_a_200_is_unavailable(openai_server: OpenAIServer) -> None:
    """A 200 whose body is an error object (the server failed) raises ProviderUnavailable."""
    openai_server.script(Raw(b'{"error": {"message": "CUDA out of memory"}}'))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderUnavailable, match="CUDA out of memory"):
            await provider.complete(ask("hi"))


async def test_a_missing_key_fails_before_any_request(openai_server: OpenAIServer) -> None:
    """A provider whose key variable is unset raises ProviderError naming it, sending nothing."""
    async with provider_for(openai_server, api_key=None) as provider:
        assert not provider.has_credentials
        with pytest.raises(ProviderError) as caught:
            await provider.complete(ask("hi"))
    assert KEY_ENV in str(caught.value)
    assert caught.value.details["reason"] == "no_key"
    assert openai_server.requests == []


@pytest.mark.parametrize(
    "step",
    [
        Status(401, message=f"Incorrect API key provided: {KEY}"),
        Status(400, message=f"bad request for key {KEY}"),
        Status(500, message=f"crashed while handling {KEY}"),
        Status(429, message=f"quota for {KEY} exceeded"),
    ],
    ids=["401", "400", "500", "429"],
)
async def test_the_key_never_appears_in_errors(openai_server: OpenAIServer, step: Status) -> None:
    """Even when a server echoes the key back, no message, repr, details or traceback shows it."""
    openai_server.script(step)
    async with provider_for(openai_server) as provider:
        assert KEY not in repr(provider)
        assert KEY not in repr(vars(provider))
        with pytest.raises(ProviderError) as caught:
            await provider.complete(ask("hi"))
    error = caught.value
    shown = [str(error), repr(error), repr(error.details), *traceback.format_exception(error)]
    assert not [text for text in shown if KEY in text]


async def test_json_schema_rejected_falls_back_to_json_mode_and_remembers(
    openai_server: OpenAIServer,
) -> None:
    """A 400 about ``response_format`` json_schema makes the provider ask again in JSON mode,
    with the schema in the system prompt, and ask that way from then on."""
    openai_server.reject_formats = {"json_schema"}
    openai_server.script(Reply(text='{"fix": "a"}'), Reply(text='{"fix": "b"}'))
    async with provider_for(openai_server) as provider:
        first = await provider.complete(ask("fix?", schema=SCHEMA))
        second = await provider.complete(ask("fix?", schema=SCHEMA))
        assert provider.schema_mode == "json_object"
    assert (first.json(), second.json()) == ({"fix": "a"}, {"fix": "b"})
    sent = openai_server.chat_bodies
    assert [body["response_format"]["type"] for body in sent] == [
        "json_schema",
        "json_object",
        "json_object",
    ]
    system = sent[1]["messages"][0]
    assert system["role"] == "system"
    assert "JSON" in system["content"] and '"fix"' in system["content"]


async def test_a_server_without_any_response_format_gets_the_schema_in_the_prompt(
    openai_server: OpenAIServer,
) -> None:
    """When JSON mode is rejected too, the schema goes in the prompt alone and the answer is
    still checked to be JSON."""
    openai_server.reject_formats = {"json_schema", "json_object"}
    openai_server.script(Reply(text='{"fix": "c"}'))
    async with provider_for(openai_server) as provider:
        response = await provider.complete(ask("fix?", schema=SCHEMA))
        assert provider.schema_mode == "prompt"
    assert response.json() == {"fix": "c"}
    last = openai_server.chat_bodies[-1]
    assert "response_format" not in last
    assert "JSON schema" in last["messages"][0]["content"]


async def test_a_400_about_something_else_is_not_a_fallback(openai_server: OpenAIServer) -> None:
    """A 400 that does not concern response_format raises at once, without asking again."""
    openai_server.script(Status(400, message="messages: too long for the context window"))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderError, match="context window"):
            await provider.complete(ask("fix?", schema=SCHEMA))
        assert provider.schema_mode == "json_schema"
    assert len(openai_server.requests) == 1
