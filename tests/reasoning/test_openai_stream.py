"""OpenAICompatibleProvider.stream against a real server on 127.0.0.1: text, tool calls, cuts."""

from __future__ import annotations

import json
import time
from contextlib import aclosing
from typing import Literal

import pytest

from tests.reasoning.openai_server import (
    Hang,
    OpenAIServer,
    Raw,
    Reply,
    Status,
    ToolCallReply,
    ask,
    provider_for,
)
from vigil.errors import ProviderResponseError, ProviderUnavailable, RateLimited
from vigil.reasoning.provider import Chunk, Request, Response
from vigil.reasoning.providers.openai import OpenAICompatibleProvider, Prices


async def collect(provider: OpenAICompatibleProvider, request: Request) -> list[Chunk]:
    chunks: list[Chunk] = []
    async with aclosing(provider.stream(request)) as stream:
        async for chunk in stream:
            chunks.append(chunk)
    return chunks


def final(chunks: list[Chunk]) -> Response:
    assert chunks and chunks[-1].response is not None
    assert all(c.response is None for c in chunks[:-1])
    return chunks[-1].response


async def test_streamed_text_arrives_in_pieces_and_ends_with_the_whole_response(
    openai_server: OpenAIServer,
) -> None:
    """Text is yielded piece by piece as the server sends it; the last chunk holds all of it."""
    text = "The failure is in parser.py line 12: a missing import."
    openai_server.script(Reply(text=text))
    async with provider_for(openai_server) as provider:
        chunks = await collect(provider, ask("why?"))
    pieces = [c.text for c in chunks[:-1]]
    assert len(pieces) > 5
    assert "".join(pieces) == text
    response = final(chunks)
    assert (response.text, response.provider, response.finish_reason) == (
        text,
        "testserver",
        "stop",
    )
    (sent,) = openai_server.chat_bodies
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


async def test_streamed_usage_is_counted_and_priced(openai_server: OpenAIServer) -> None:
    """The usage-only chunk at the end of a stream gives tokens and cost."""
    openai_server.script(Reply(text="ok then", prompt_tokens=100, completion_tokens=20))
    async with provider_for(openai_server, prices=Prices(input=1.0, output=2.0)) as provider:
        response = final(await collect(provider, ask("hi")))
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (100, 20)
    assert response.cost == pytest.approx(140 / 1_000_000)


async def test_streamed_tool_calls_are_assembled_from_their_deltas(
    openai_server: OpenAIServer,
) -> None:
    """Tool-call deltas are accumulated by index into whole calls with parsed arguments."""
    openai_server.script(
        Reply(
            tool_calls=[
                ToolCallReply("search_knowledge", {"query": "numpy import error", "limit": 3}),
                ToolCallReply("log_tail", {"path": "build.log", "lines": 40}, id="call_log"),
            ]
        )
    )
    async with provider_for(openai_server) as provider:
        chunks = await collect(provider, ask("look"))
    response = final(chunks)
    assert response.finish_reason == "tool_calls"
    first, second = response.tool_calls
    assert (first.id, first.name) == ("call_0", "search_knowledge")
    assert dict(first.arguments) == {"query": "numpy import error", "limit": 3}
    assert (second.id, second.name) == ("call_log", "log_tail")
    assert dict(second.arguments) == {"path": "build.log", "lines": 40}
    assert first.error is None and second.error is None


async def test_a_streamed_tool_call_with_invalid_arguments_is_kept_with_its_error(
    openai_server: OpenAIServer,
) -> None:
    """Invalid streamed arguments end as a ToolCall with ``error`` and ``raw``, not an exception."""
    openai_server.script(Reply(tool_calls=[ToolCallReply("log_tail", '{"path": "a.log", "li')]))
    async with provider_for(openai_server) as provider:
        (call,) = final(await collect(provider, ask("look"))).tool_calls
    assert call.raw == '{"path": "a.log", "li'
    assert call.error is not None and "not valid JSON" in call.error


@pytest.mark.parametrize("framing", ["chunked", "close"])
async def test_a_stream_cut_mid_way_raises_unavailable_after_the_text_it_gave(
    openai_server: OpenAIServer, framing: Literal["chunked", "close"]
) -> None:
    """A connection dropped before the end (broken chunking or a bare close) raises
    ProviderUnavailable, and the text already yielded stays with the caller."""
    openai_server.script(Reply(text="one two three four five six", cut_after=4, framing=framing))
    received: list[str] = []
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            async with aclosing(provider.stream(ask("count"))) as stream:
                async for chunk in stream:
                    assert chunk.response is None
                    received.append(chunk.text)
    assert "".join(received) == "one two three"
    assert caught.value.details == {
        "provider": "testserver",
        "model": "test-model",
        "reason": "cut",
    }


async def test_a_stream_with_a_finish_reason_but_no_done_marker_is_complete(
    openai_server: OpenAIServer,
) -> None:
    """A server that ends with a finish reason and closes without ``[DONE]`` gave a whole answer."""
    openai_server.script(Reply(text="all here", send_done=False, framing="close"))
    async with provider_for(openai_server) as provider:
        response = final(await collect(provider, ask("hi")))
    assert response.text == "all here"


async def test_a_server_that_rejects_stream_options_is_streamed_without_them(
    openai_server: OpenAIServer,
) -> None:
    """A 400 about ``stream_options`` makes the provider send again without them, and remember."""
    openai_server.reject_stream_options = True
    openai_server.script(Reply(text="first"), Reply(text="second"))
    async with provider_for(openai_server) as provider:
        first = final(await collect(provider, ask("1")))
        second = final(await collect(provider, ask("2")))
    assert (first.text, second.text) == ("first", "second")
    assert first.usage.total == 0
    sent = openai_server.chat_bodies
    assert ["stream_options" in body for body in sent] == [True, False, False]


async def test_a_stream_answered_with_one_json_body_still_gives_chunks(
    openai_server: OpenAIServer,
) -> None:
    """A server that ignores ``stream`` and sends one whole completion still yields its text
    and the response."""
    body = {
        "model": "test-model",
        "choices": [
            {"message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
    openai_server.script(Raw(json.dumps(body).encode()))
    async with provider_for(openai_server) as provider:
        chunks = await collect(provider, ask("hi"))
    assert [c.text for c in chunks[:-1]] == ["whole"]
    assert final(chunks).usage.total == 4


async def test_stream_errors_are_translated_like_calls(openai_server: OpenAIServer) -> None:
    """Opening a stream that answers 503 or 429 raises ProviderUnavailable or RateLimited."""
    openai_server.script(Status(503), Status(429, headers={"Retry-After": "4"}))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderUnavailable):
            await collect(provider, ask("hi"))
        with pytest.raises(RateLimited) as caught:
            await collect(provider, ask("hi"))
    assert caught.value.retry_after == 4.0


async def test_a_stream_event_that_is_not_json_is_a_response_error(
    openai_server: OpenAIServer,
) -> None:
    """A ``data:`` line that is not JSON raises ProviderResponseError."""
    openai_server.script(Raw(b"data: {not json\n\n", content_type="text/event-stream"))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderResponseError):
            await collect(provider, ask("hi"))


async def test_a_hanging_stream_is_cut_at_the_deadline(openai_server: OpenAIServer) -> None:
    """A stream whose server never answers raises ProviderUnavailable by the request's deadline."""
    openai_server.script(Hang())
    deadline = 0.4
    started = time.monotonic()
    async with provider_for(openai_server, timeout_s=10.0) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            await collect(provider, ask("hi", deadline=time.monotonic() + deadline))
    assert time.monotonic() - started < deadline + 1.0
    assert caught.value.details["reason"] == "timeout"


async def test_a_stream_that_stalls_mid_way_is_cut_after_timeout_s(
    openai_server: OpenAIServer,
) -> None:
    """A stream that stops sending for longer than timeout_s raises ProviderUnavailable, even
    with no deadline, after yielding what it sent."""
    openai_server.script(Reply(text="partial answer that stops here", stall_after=3))
    received: list[str] = []
    started = time.monotonic()
    async with provider_for(openai_server, timeout_s=0.3) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            async with aclosing(provider.stream(ask("hi"))) as stream:
                async for chunk in stream:
                    received.append(chunk.text)
    assert time.monotonic() - started < 0.3 + 1.0
    assert "".join(received) == "partial answer"
    assert caught.value.details["reason"] == "timeout"
