"""``vigil ask`` as a person runs it (a real process) against a real OpenAI-compatible server on
127.0.0.1 that misbehaves: the chain falls through to rules, and ``vigil why`` tells the story."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import vigil
from tests.reasoning.openai_server import OpenAIServer, Reply, ToolCallReply


def _configure(home: Path, server: OpenAIServer) -> None:
    (home / "config.toml").write_text(
        "[[reasoning.providers]]\n"
        'name = "flaky"\nkind = "openai"\n'
        f'base_url = "{server.base_url}"\nmodel = "test-model"\ntimeout_s = 5\n\n'
        '[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n'
    )


def _ask(home: Path, question: str) -> dict[str, Any]:
    done = vigil("ask", "--json", question, home=home)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_an_empty_answer_is_skipped_and_rules_answer(
    home: Path, openai_server: OpenAIServer, text: str
) -> None:
    """A provider that answers 200 with nothing (or only whitespace) is skipped with the
    reason, after one request, and the rules provider's answer is the final one."""
    _configure(home, openai_server)
    openai_server.default = Reply(text=text)
    answer = _ask(home, "status?")
    assert answer["provider"] == "rules" and answer["answer"].strip()
    (skip,) = answer["skipped"]
    assert skip["provider"] == "flaky"
    assert skip["reason"] == "failed: no usable answer: the reply was empty"
    assert len(openai_server.chat_bodies) == 1


def test_malformed_tool_arguments_get_one_corrective_turn(
    home: Path, openai_server: OpenAIServer
) -> None:
    """A provider whose tool calls carry arguments that are not JSON is asked once more (with
    the error), then skipped: two requests in all, not one per step; ``vigil why`` shows the
    calls it made, the tokens, and the skip without a doubled prefix."""
    _configure(home, openai_server)
    broken = ToolCallReply("recent_events", arguments='{"limit": 3,', id="call_1")
    openai_server.default = Reply(tool_calls=[broken], prompt_tokens=40, completion_tokens=9)
    answer = _ask(home, "what happened recently?")
    assert answer["provider"] == "rules"
    assert len(openai_server.chat_bodies) == 2
    corrective = openai_server.chat_bodies[1]["messages"][-1]
    assert corrective["role"] == "tool" and "error" in corrective["content"]
    (skip,) = answer["skipped"]
    assert skip["reason"] == "failed: no usable answer: its tool calls were malformed twice"
    assert (skip["prompt_tokens"], skip["completion_tokens"]) == (80, 18)
    (call,) = answer["tool_calls"]
    assert call["provider"] == "flaky" and call["name"] == "recent_events" and not call["ok"]

    why = vigil("why", answer["receipt_id"], home=home)
    assert why.returncode == 0, why.stderr
    assert "skipped flaky: failed: no usable answer: its tool calls were malformed twice" in (
        why.stdout
    )
    assert "flaky: failed: flaky" not in why.stdout
    assert "(98 tokens spent)" in why.stdout
    assert 'tool [flaky] recent_events({"limit": 3,) -> error' in why.stdout
    assert "tokens: 80 in, 18 out" in why.stdout


def test_why_shows_each_tool_call_with_its_arguments_and_size(
    home: Path, openai_server: OpenAIServer
) -> None:
    """An answer that used tools: ``vigil why rc_...`` lists each call (tool, arguments,
    result size) and the tokens the answer cost."""
    _configure(home, openai_server)
    openai_server.script(
        Reply(
            tool_calls=[ToolCallReply("recent_events", {"limit": 2}, id="c1")],
            prompt_tokens=100,
            completion_tokens=10,
        ),
        Reply(text="Nothing has happened yet.", prompt_tokens=150, completion_tokens=8),
    )
    answer = _ask(home, "what happened recently?")
    assert answer["provider"] == "flaky" and answer["answer"] == "Nothing has happened yet."
    (call,) = answer["tool_calls"]
    assert call["arguments"] == {"limit": 2} and call["chars"] > 0
    why = vigil("why", answer["receipt_id"], home=home).stdout
    assert f'tool [flaky] recent_events({{"limit": 2}}) -> ok, {call["chars"]} chars' in why
    assert "tokens: 250 in, 18 out" in why
