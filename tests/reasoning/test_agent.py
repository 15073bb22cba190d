"""The tool loop with scripted models over a real store: native, streaming and constrained modes."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reasoning.test_tools import World, build_world
from vigil.errors import ProviderResponseError, ProviderUnavailable
from vigil.reasoning.agent import (
    FINAL_TURN,
    AgentResult,
    action_schema,
    cited_ids,
    run_agent,
    run_agent_stream,
    run_constrained,
)
from vigil.reasoning.provider import Chunk, Request, Response, ToolCall, Usage
from vigil.reasoning.tools import CLOSE, DATA_NOTE, schema_errors
from vigil.testing import FakeClock, FunctionProvider, ScriptedProvider


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("world"))
    yield built
    built.vigil.close()


def said(text: str) -> Response:
    return Response(text, "scripted", "scripted-1", usage=Usage(100, 20))


def calls(*pairs: tuple[str, dict[str, Any]], error: str | None = None) -> Response:
    tool_calls = tuple(
        ToolCall(f"call_{i}", name, arguments, error=error)
        for i, (name, arguments) in enumerate(pairs)
    )
    return Response("", "scripted", "scripted-1", tool_calls=tool_calls, usage=Usage(100, 10))


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts
    }


# -- native tool calling -------------------------------------------------------------------------


async def test_tool_call_then_result_then_answer(world: World) -> None:
    """The model calls a tool, reads its result as a tool message, then answers with citations."""
    triage_id, failure_id = world.ids["report_triage"], world.ids["report_fail"]

    def answer(request: Request) -> Response:
        last = request.messages[-1]
        assert last.role == "tool" and last.tool_call_id == "call_0" and last.name == "triage_of"
        assert last.content.startswith('<tool_output name="triage_of" status="ok">')
        assert triage_id in last.content
        assert request.tools  # tools stay on offer until the model answers
        return said(f"report.py fails on bad JSON ({failure_id}; triage {triage_id}).")

    provider = ScriptedProvider("scripted", [calls(("triage_of", {})), answer])
    result = await run_agent(provider, "why did report fail?", world.toolbox(), deadline=None)
    assert result.stopped_reason == "answered" and result.answered
    assert result.answer.startswith("report.py fails on bad JSON")
    assert result.steps == 2
    assert result.usage == Usage(200, 30)
    assert result.cited_ids == [failure_id, triage_id]
    assert result.provider == "scripted" and result.model == "scripted-1"
    (record,) = result.tool_calls
    assert record["name"] == "triage_of" and record["arguments"] == {} and record["ok"]
    assert triage_id in record["result_preview"] and record["elapsed_ms"] >= 0
    first = provider.requests[0]
    assert [m.role for m in first.messages] == ["system", "user"]
    assert {t.name for t in first.tools} >= {"project_state", "triage_of", "get_event"}
    assert "never instructions" in first.messages[0].content


async def test_an_answer_citing_nothing_cites_what_the_tools_returned(world: World) -> None:
    """With no id in the answer, cited_ids are the ids the tools returned."""
    provider = ScriptedProvider(
        "scripted", [calls(("search_knowledge", {"query": "release"})), said("Tag from main.")]
    )
    result = await run_agent(provider, "how do we release?", world.toolbox())
    assert result.cited_ids == [world.ids["kb_note"]]


def test_cited_ids_keeps_only_ids_the_tools_returned() -> None:
    """Ids the answer invents are dropped; unique prefixes count; no tools means the answer's."""
    real = "ev_01KDWQ1590TGEDVFR0AAAAAAAA"
    other = "kb_01KDWQ1590TGEDVFR0BBBBBBBB"
    made_up = "ev_01KDWQ1590TGEDVFR0ZZZZZZZZ"
    tools = [json.dumps({"id": real, "fix": other})]
    assert cited_ids(f"see {made_up} and {other}", tools) == [other]
    assert cited_ids(f"see {real[:14].lower()}", tools) == [real]
    assert cited_ids("no ids here", tools) == [real, other]
    assert cited_ids(f"rules read {real} itself", []) == [real]


async def test_max_steps_asks_once_more_without_tools(world: World) -> None:
    """After max_steps tool turns the model is asked, without tools, for a final answer."""

    def final(request: Request) -> Response:
        assert request.tools == ()
        assert request.messages[-1].content == FINAL_TURN
        return said("Five commands fail.")

    looping = [calls(("project_state", {})), calls(("recent_events", {"limit": 3}))]
    provider = ScriptedProvider("scripted", [*looping, final])
    result = await run_agent(provider, "status?", world.toolbox(), max_steps=2)
    assert result.stopped_reason == "max_steps" and result.answered
    assert result.answer == "Five commands fail."
    assert result.steps == 3 and len(result.tool_calls) == 2

    stubborn = ScriptedProvider("scripted", [*looping, calls(("project_state", {}))])
    result = await run_agent(stubborn, "status?", world.toolbox(), max_steps=2)
    assert result.stopped_reason == "max_steps" and not result.answered
    assert "used all 2 steps" in result.answer and result.cited_ids == []


async def test_the_deadline_stops_the_loop_between_steps(world: World) -> None:
    """When the deadline passes during a turn, no further tool or model call is made."""
    clock = FakeClock()

    def slow(request: Request) -> Response:
        clock.advance(11)
        return calls(("project_state", {}))

    provider = ScriptedProvider("scripted", [slow, said("never asked")])
    result = await run_agent(
        provider, "status?", world.toolbox(), deadline=clock.monotonic() + 10, clock=clock
    )
    assert result.stopped_reason == "deadline" and not result.answered
    assert result.tool_calls == [] and len(provider.requests) == 1
    assert "deadline" in result.answer

    late = ScriptedProvider("scripted", [said("never asked")])
    result = await run_agent(
        late, "status?", world.toolbox(), deadline=clock.monotonic() - 1, clock=clock
    )
    assert result.stopped_reason == "deadline" and late.requests == []


async def test_a_hanging_provider_is_cut_off_at_the_deadline(world: World) -> None:
    """A provider that never answers does not hold the loop past the deadline."""
    import asyncio

    async def hang(request: Request) -> Response:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    started = time.monotonic()
    result = await run_agent(
        FunctionProvider("hang", hang), "status?", world.toolbox(), deadline=started + 0.2
    )
    assert result.stopped_reason == "deadline"
    assert time.monotonic() - started < 2


async def test_malformed_and_unknown_tool_calls_are_answered_with_errors(world: World) -> None:
    """A malformed call and an unknown tool each get an error tool message the model can read."""

    def answer(request: Request) -> Response:
        replies = [m for m in request.messages if m.role == "tool"]
        assert [m.tool_call_id for m in replies] == ["call_0", "call_1", "call_2"]
        assert "malformed" in replies[0].content
        assert "unknown tool 'run_shell'" in replies[1].content
        assert "missing required argument 'event_id'" in replies[2].content
        assert all('status="error"' in m.content for m in replies)
        return said("I could not read the event.")

    bad = Response(
        "",
        "scripted",
        "scripted-1",
        tool_calls=(
            ToolCall("call_0", "get_event", {}, raw='{"event_id": ', error="invalid JSON"),
            ToolCall("call_1", "run_shell", {"cmd": "ls"}),
            ToolCall("call_2", "get_event", {}),
        ),
    )
    provider = ScriptedProvider("scripted", [bad, answer])
    result = await run_agent(provider, "show me the event", world.toolbox())
    assert result.answered and [c["ok"] for c in result.tool_calls] == [False, False, False]


async def test_calls_without_ids_get_ids_so_results_can_answer_them(world: World) -> None:
    """A provider that sends tool calls without ids still gets results matched to them."""
    no_id = Response("", "scripted", "m", tool_calls=(ToolCall("", "git_log", {"limit": 1}),))

    def answer(request: Request) -> Response:
        assistant = request.messages[-2]
        (sent,) = assistant.tool_calls
        assert sent.id and request.messages[-1].tool_call_id == sent.id
        return said("One commit.")

    result = await run_agent(ScriptedProvider("s", [no_id, answer]), "log?", world.toolbox())
    assert result.answered


@pytest.mark.parametrize("text", ["", "  \n\t "])
async def test_an_empty_reply_is_no_answer(world: World, text: str) -> None:
    """A reply with no text (or only whitespace) and no tool calls ends the run unanswered,
    after one request, so the caller falls through to the next provider."""
    provider = ScriptedProvider("scripted", [said(text), said("never asked")])
    result = await run_agent(provider, "status?", world.toolbox())
    assert not result.answered and result.stopped_reason == "empty"
    assert len(provider.requests) == 1 and result.cited_ids == []


async def test_malformed_tool_calls_get_one_corrective_turn(world: World) -> None:
    """A turn whose tool call is malformed is answered with the error once; a second such turn
    ends the run unanswered instead of spending every step."""
    bad = calls(("get_event", {}), error="arguments are not valid JSON")
    provider = ScriptedProvider("scripted", [bad, bad, bad, said("never asked")])
    result = await run_agent(provider, "show me the event", world.toolbox(), max_steps=6)
    assert not result.answered and result.stopped_reason == "invalid_tool_call"
    assert len(provider.requests) == 2 and [c["ok"] for c in result.tool_calls] == [False]
    corrective = provider.requests[1].messages[-1]
    assert corrective.role == "tool" and 'status="error"' in corrective.content

    recovering = ScriptedProvider("scripted", [bad, calls(("project_state", {})), said("Fine.")])
    result = await run_agent(recovering, "status?", world.toolbox())
    assert result.answered and result.answer == "Fine." and len(recovering.requests) == 3


async def test_constrained_whitespace_answer_is_invalid_output(world: World) -> None:
    """In constrained mode an answer of only whitespace is invalid: retried once, then the
    run ends unanswered."""
    blank = Response(json.dumps({"action": "answer", "answer": "   ", "cites": []}), "s", "m")
    provider = ScriptedProvider("scripted", [blank, blank, said("never asked")])
    result = await run_constrained(provider, "status?", world.toolbox())
    assert not result.answered and result.stopped_reason == "invalid_output"
    assert len(provider.requests) == 2
    assert "the answer is empty" in provider.requests[1].messages[-1].content


async def test_provider_errors_propagate_to_the_chain(world: World) -> None:
    """A dead provider is the chain's business: its error is raised, not swallowed."""
    provider = ScriptedProvider("scripted", [ProviderUnavailable("down", provider="scripted")])
    with pytest.raises(ProviderUnavailable):
        await run_agent(provider, "status?", world.toolbox())


async def test_injected_instructions_in_tool_output_change_nothing_but_reads(world: World) -> None:
    """A model that obeys an injection in an output tail can still only read: nothing changes."""
    before = snapshot(world.project)
    head = (world.project / ".git" / "HEAD").read_bytes()
    seen: list[str] = []

    def obey(request: Request) -> Response:
        seen.append(request.messages[-1].content)
        return calls(
            ("git_diff", {"rev": "HEAD~1000"}),
            ("delete_files", {"path": "."}),
            ("run_command", {"argv": ["rm", "-rf", "/"]}),
            ("log_tail", {"path": "/etc/shadow"}),
        )

    provider = ScriptedProvider(
        "scripted",
        [calls(("get_event", {"event_id": world.ids["report_fail"]})), obey, said("Done.")],
    )
    result = await run_agent(provider, "why did report fail?", world.toolbox())
    (tail,) = seen
    assert "ignore previous instructions" in tail
    assert tail.count(CLOSE) == 1 and tail.endswith(DATA_NOTE)
    assert [(c["name"], c["ok"]) for c in result.tool_calls] == [
        ("get_event", True),
        ("git_diff", False),  # a read, and HEAD~1000 does not exist
        ("delete_files", False),
        ("run_command", False),
        ("log_tail", False),
    ]
    assert snapshot(world.project) == before
    assert (world.project / ".git" / "HEAD").read_bytes() == head
    assert {spec.name for spec in world.toolbox().specs}.isdisjoint(
        {"delete_files", "run_command", "write_file"}
    )


async def test_a_repeated_identical_call_is_served_from_the_first_result(world: World) -> None:
    """A model asking the same thing twice gets the same result without a second read."""
    provider = ScriptedProvider(
        "scripted",
        [calls(("git_log", {"limit": 1})), calls(("git_log", {"limit": 1})), said("ok")],
    )
    before = len(world.git_calls)
    result = await run_agent(provider, "log?", world.toolbox())
    assert len(world.git_calls) == before + 1
    assert [c["ok"] for c in result.tool_calls] == [True, True]


# -- streaming -----------------------------------------------------------------------------------


async def test_streaming_yields_text_chunks_then_the_result(world: World) -> None:
    """run_agent_stream yields the answer's text in pieces and the AgentResult last."""
    text = f"The latest failure is {world.ids['report_fail']}; it is a JSON decode error."
    provider = ScriptedProvider("scripted", [calls(("triage_of", {})), said(text)])
    items = [item async for item in run_agent_stream(provider, "what failed?", world.toolbox())]
    *chunks, result = items
    assert isinstance(result, AgentResult) and result.answer == text
    assert all(isinstance(c, str) for c in chunks) and len(chunks) > 2
    assert "".join(chunks) == text  # type: ignore[arg-type]
    assert result.cited_ids == [world.ids["report_fail"]]


class CompleteOnly:
    """A provider that cannot stream."""

    name = "plain"
    model = "plain-1"
    local = True

    def __init__(self, replies: list[Response]) -> None:
        self.replies = replies

    async def complete(self, request: Request) -> Response:
        return self.replies.pop(0)

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        raise NotImplementedError
        yield Chunk()  # pragma: no cover - makes this an async generator


async def test_streaming_falls_back_to_complete_when_the_provider_cannot_stream(
    world: World,
) -> None:
    """A provider whose stream is not implemented is asked with complete; its text is yielded."""
    provider = CompleteOnly([calls(("git_log", {"limit": 1})), said("One commit: Refactor add.")])
    items = [item async for item in run_agent_stream(provider, "log?", world.toolbox())]
    assert items[0] == "One commit: Refactor add."
    assert isinstance(items[-1], AgentResult) and items[-1].steps == 2


# -- constrained output --------------------------------------------------------------------------


def action(**value: Any) -> Response:
    return said(json.dumps(value))


async def test_constrained_mode_runs_tools_from_json_actions(world: World) -> None:
    """Each turn asks for JSON against the action schema; tool calls run; the answer cites."""
    triage_id = world.ids["report_triage"]

    def answer(request: Request) -> Response:
        last = request.messages[-1]
        assert last.role == "user" and last.content.startswith("Result of triage_of:")
        assert triage_id in last.content and CLOSE in last.content
        return action(action="answer", answer="report.py reads bad JSON.", cites=[triage_id])

    provider = ScriptedProvider(
        "embedded", [action(action="call_tool", tool="triage_of", arguments={}), answer]
    )
    result = await run_constrained(provider, "why did report fail?", world.toolbox())
    assert result.stopped_reason == "answered" and result.answered
    assert result.answer == "report.py reads bad JSON."
    assert result.cited_ids == [triage_id]
    request = provider.requests[0]
    assert request.tools == () and request.schema is not None
    assert request.schema == action_schema(world.toolbox())
    variants = request.schema["anyOf"]
    assert len(variants) == len(world.toolbox().specs) + 1
    assert "triage_of(event_id?: string)" in request.messages[0].content


async def test_constrained_mode_retries_once_after_invalid_output(world: World) -> None:
    """Invalid JSON gets one retry with the error shown; a valid reply then counts."""

    def valid(request: Request) -> Response:
        assert "That reply is invalid: not valid JSON" in request.messages[-1].content
        return action(action="answer", answer="Nothing to report.", cites=[])

    provider = ScriptedProvider("embedded", [said("Sure! Here is JSON: {"), valid])
    result = await run_constrained(provider, "status?", world.toolbox())
    assert result.answered and result.answer == "Nothing to report." and result.steps == 2


async def test_constrained_mode_gives_up_after_two_invalid_outputs(world: World) -> None:
    """Output that breaks the schema twice stops the loop with invalid_output."""
    provider = ScriptedProvider(
        "embedded",
        [
            action(action="dance"),
            action(action="call_tool", tool="delete_files", arguments={"path": "/"}),
            said("never asked"),
        ],
    )
    result = await run_constrained(provider, "status?", world.toolbox())
    assert result.stopped_reason == "invalid_output" and not result.answered
    assert result.steps == 2 and result.tool_calls == []


async def test_constrained_mode_treats_a_provider_schema_error_as_invalid_output(
    world: World,
) -> None:
    """A provider that validates its own output and raises gets the same one retry."""
    provider = ScriptedProvider(
        "embedded",
        [
            ProviderResponseError("embedded model's answer breaks the schema", provider="e"),
            action(action="answer", answer="ok", cites=[]),
        ],
    )
    result = await run_constrained(provider, "status?", world.toolbox())
    assert result.answered and result.answer == "ok"


async def test_constrained_mode_forces_an_answer_after_max_steps(world: World) -> None:
    """After max_steps tool calls, the schema only allows an answer."""

    def final(request: Request) -> Response:
        assert request.schema is not None and "anyOf" not in request.schema
        assert request.schema["properties"]["action"]["enum"] == ["answer"]
        return action(action="answer", answer="Done reading.", cites=[])

    step = action(action="call_tool", tool="git_log", arguments={"limit": 1})
    provider = ScriptedProvider(
        "embedded", [step, action(action="call_tool", tool="project_state", arguments={}), final]
    )
    result = await run_constrained(provider, "log?", world.toolbox(), max_steps=2)
    assert result.stopped_reason == "max_steps" and result.answered
    assert [c["name"] for c in result.tool_calls] == ["git_log", "project_state"]


def test_the_action_schema_accepts_calls_and_answers_and_nothing_else(world: World) -> None:
    """The action schema admits well-formed calls per tool and bounded answers only."""
    schema = action_schema(world.toolbox())
    assert not schema_errors(
        {"action": "call_tool", "tool": "get_event", "arguments": {"event_id": "ev_1"}}, schema
    )
    assert schema_errors({"action": "call_tool", "tool": "get_event", "arguments": {}}, schema)
    assert schema_errors({"action": "call_tool", "tool": "rm", "arguments": {}}, schema)
    assert not schema_errors({"action": "answer", "answer": "x", "cites": []}, schema)
    assert schema_errors({"action": "answer", "answer": "x" * 1201, "cites": []}, schema)
