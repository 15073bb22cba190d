"""OpenAICompatibleProvider.complete against a real server on 127.0.0.1: the success paths."""

from __future__ import annotations

import json

import pytest

from tests.reasoning.openai_server import (
    KEY,
    OpenAIServer,
    Raw,
    Reply,
    ToolCallReply,
    ask,
    provider_for,
)
from vigil.errors import ProviderResponseError
from vigil.reasoning.provider import Message, Provider, Request, ToolCall, tool_spec
from vigil.reasoning.providers.openai import Prices

SCHEMA = {
    "type": "object",
    "properties": {"fix": {"type": "string"}, "confidence": {"type": "number"}},
    "required": ["fix"],
}


def search_knowledge(query: str, limit: int = 5) -> list[str]:
    """Search the knowledge base.

    Args:
        query: words to look for
        limit: how many entries at most
    """
    return []


async def test_a_text_answer_comes_back_with_provider_model_and_timing(
    openai_server: OpenAIServer,
) -> None:
    """A plain answer is returned as text, named after the provider and the model that answered."""
    openai_server.script(Reply(text="The build failed in parser.py."))
    async with provider_for(openai_server) as provider:
        assert isinstance(provider, Provider)
        response = await provider.complete(ask("why did it fail?"))
    assert response.text == "The build failed in parser.py."
    assert (response.provider, response.model) == ("testserver", "test-model")
    assert response.finish_reason == "stop"
    assert response.tool_calls == ()
    assert response.elapsed_ms > 0


async def test_the_request_carries_messages_tools_and_limits_in_openai_form(
    openai_server: OpenAIServer,
) -> None:
    """System, user, assistant tool calls and tool results, tools, max_tokens and temperature are
    sent as the OpenAI chat-completions API expects them."""
    call = ToolCall(id="call_7", name="search_knowledge", arguments={"query": "ImportError"})
    request = Request(
        messages=(
            Message("system", "You are Vigil."),
            Message("user", "what broke?"),
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", '["fix: pin numpy"]', tool_call_id="call_7", name="search_knowledge"),
        ),
        tools=(tool_spec(search_knowledge),),
        max_tokens=64,
        temperature=0.2,
    )
    async with provider_for(openai_server) as provider:
        await provider.complete(request)
    (sent,) = openai_server.chat_bodies
    assert openai_server.requests[0].path == "/v1/chat/completions"
    assert sent["model"] == "test-model"
    assert (sent["max_tokens"], sent["temperature"]) == (64, 0.2)
    assert "stream" not in sent and "response_format" not in sent
    assert sent["messages"] == [
        {"role": "system", "content": "You are Vigil."},
        {"role": "user", "content": "what broke?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_7",
                    "type": "function",
                    "function": {
                        "name": "search_knowledge",
                        "arguments": json.dumps({"query": "ImportError"}),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_7", "content": '["fix: pin numpy"]'},
    ]
    (tool,) = sent["tools"]
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "search_knowledge"
    assert tool["function"]["parameters"]["required"] == ["query"]


async def test_the_key_travels_only_in_the_authorization_header(
    openai_server: OpenAIServer,
) -> None:
    """The API key is sent as a Bearer token and appears nowhere else in what the server gets."""
    async with provider_for(openai_server, headers={"X-Team": "ops"}) as provider:
        await provider.complete(ask("hello"))
    (received,) = openai_server.requests
    assert received.headers["authorization"] == f"Bearer {KEY}"
    assert received.headers["x-team"] == "ops"
    others = {k: v for k, v in received.headers.items() if k != "authorization"}
    assert KEY not in json.dumps(others)
    assert KEY.encode() not in received.body
    assert KEY not in received.path


async def test_an_endpoint_without_a_key_gets_no_authorization_header(
    openai_server: OpenAIServer,
) -> None:
    """A keyless endpoint (a local Ollama) is called without any Authorization header."""
    async with provider_for(openai_server, api_key=None, api_key_env=None) as provider:
        await provider.complete(ask("hello"))
    assert "authorization" not in openai_server.requests[0].headers


async def test_a_schema_request_asks_for_json_schema_and_returns_the_json(
    openai_server: OpenAIServer,
) -> None:
    """With a schema the request names it in response_format (not strict) and the JSON answer
    comes back as text that parses."""
    openai_server.script(Reply(text='{"fix": "pin numpy", "confidence": 0.8}'))
    async with provider_for(openai_server) as provider:
        response = await provider.complete(ask("fix?", schema=SCHEMA, schema_name="triage fix"))
    assert response.json() == {"fix": "pin numpy", "confidence": 0.8}
    (sent,) = openai_server.chat_bodies
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "triage_fix", "schema": SCHEMA, "strict": False},
    }


async def test_a_fenced_json_answer_is_unwrapped(openai_server: OpenAIServer) -> None:
    """A schema answer wrapped in a Markdown code fence is returned as the bare JSON."""
    openai_server.script(Reply(text='```json\n{"fix": "retry"}\n```'))
    async with provider_for(openai_server) as provider:
        response = await provider.complete(ask("fix?", schema=SCHEMA))
    assert response.json() == {"fix": "retry"}


async def test_a_schema_request_answered_with_prose_is_a_response_error(
    openai_server: OpenAIServer,
) -> None:
    """Text that is not JSON where a schema was required raises ProviderResponseError."""
    openai_server.script(Reply(text="Sure! The fix is to pin numpy.", finish_reason="length"))
    async with provider_for(openai_server) as provider:
        with pytest.raises(ProviderResponseError) as caught:
            await provider.complete(ask("fix?", schema=SCHEMA))
    assert caught.value.details["provider"] == "testserver"
    assert caught.value.details["finish_reason"] == "length"


async def test_tool_calls_are_parsed_with_their_arguments(openai_server: OpenAIServer) -> None:
    """Tool calls come back with ids, names and JSON-decoded arguments."""
    openai_server.script(
        Reply(
            tool_calls=[
                ToolCallReply("search_knowledge", {"query": "numpy", "limit": 2}, id="call_a"),
                ToolCallReply("recent_events", {}, id="call_b"),
            ]
        )
    )
    async with provider_for(openai_server) as provider:
        response = await provider.complete(ask("look it up", tools=(tool_spec(search_knowledge),)))
    assert response.finish_reason == "tool_calls"
    assert response.text == ""
    first, second = response.tool_calls
    assert (first.id, first.name, dict(first.arguments)) == (
        "call_a",
        "search_knowledge",
        {"query": "numpy", "limit": 2},
    )
    assert first.error is None
    assert (second.id, second.name, dict(second.arguments), second.error) == (
        "call_b",
        "recent_events",
        {},
        None,
    )


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ('{"query": "numpy", ', "not valid JSON"),
        ('["numpy"]', "must be a JSON object"),
        ("query=numpy", "not valid JSON"),
    ],
)
async def test_a_malformed_tool_call_is_kept_with_its_error_instead_of_raising(
    openai_server: OpenAIServer, raw: str, complaint: str
) -> None:
    """Arguments that are not a JSON object give a ToolCall with ``error`` set and ``raw`` kept."""
    openai_server.script(Reply(tool_calls=[ToolCallReply("search_knowledge", raw, id="c1")]))
    async with provider_for(openai_server) as provider:
        response = await provider.complete(ask("look it up", tools=(tool_spec(search_knowledge),)))
    (call,) = response.tool_calls
    assert call.name == "search_knowledge"
    assert call.raw == raw
    assert call.arguments == {}
    assert call.error is not None and complaint in call.error


async def test_a_malformed_call_goes_back_to_the_model_as_an_empty_object(
    openai_server: OpenAIServer,
) -> None:
    """Echoing a malformed call in the history sends ``{}`` as its arguments, so that servers
    which parse the history do not reject the next turn."""
    bad = ToolCall(id="c1", name="search_knowledge", arguments={}, raw="{oops", error="bad JSON")
    history = (
        Message("user", "look it up"),
        Message("assistant", tool_calls=(bad,)),
        Message("tool", "error: bad JSON", tool_call_id="c1"),
    )
    async with provider_for(openai_server) as provider:
        await provider.complete(Request(messages=history))
    (sent,) = openai_server.chat_bodies
    assert sent["messages"][1]["tool_calls"][0]["function"]["arguments"] == "{}"


async def test_usage_and_cost_come_from_the_answer_and_the_prices(
    openai_server: OpenAIServer,
) -> None:
    """Token usage is read from the answer and priced per million input and output tokens."""
    openai_server.script(Reply(text="ok", prompt_tokens=1200, completion_tokens=300))
    prices = Prices(input=0.59, output=0.79)
    async with provider_for(openai_server, prices=prices) as provider:
        response = await provider.complete(ask("hi"))
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (1200, 300)
    assert response.usage.total == 1500
    assert response.cost == pytest.approx((1200 * 0.59 + 300 * 0.79) / 1_000_000)


async def test_an_answer_without_usage_counts_zero_tokens(openai_server: OpenAIServer) -> None:
    """A server that reports no usage gives zero tokens and zero cost, not an error."""
    body = {"choices": [{"message": {"role": "assistant", "content": "hi"}}], "model": "x"}
    openai_server.script(Raw(json.dumps(body).encode()))
    async with provider_for(openai_server, prices=Prices(1.0, 1.0)) as provider:
        response = await provider.complete(ask("hi"))
    assert (response.text, response.usage.total, response.cost) == ("hi", 0, 0.0)
    assert response.finish_reason == "stop"


async def test_one_provider_serves_several_calls_over_its_pool(
    openai_server: OpenAIServer,
) -> None:
    """Consecutive calls reuse the instance's client, and a call after aclose opens a new one."""
    openai_server.script(Reply(text="one"), Reply(text="two"), Reply(text="three"))
    provider = provider_for(openai_server)
    try:
        assert (await provider.complete(ask("1"))).text == "one"
        assert (await provider.complete(ask("2"))).text == "two"
        await provider.aclose()
        assert (await provider.complete(ask("3"))).text == "three"
    finally:
        await provider.aclose()
