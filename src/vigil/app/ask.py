"""``vigil ask``: a question answered through the fallback chain with read-only tools.

OpenAI-compatible providers run the tool loop (streaming the final answer); the embedded model
runs the constrained JSON loop; the rules provider answers from the stores directly. A provider
whose loop ends without an answer counts as failed, so the chain moves on. Every answer gets a
receipt: provider, model, the providers skipped and why (with the tokens a failed attempt
spent), the tool calls of every provider that ran (each tagged with its ``provider``, with its
arguments and result size), cited ids, tokens (of every attempt), latency. An empty answer, or
one that stopped for any other reason, is the provider's failure: the chain moves on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.errors import ProviderResponseError
from vigil.reasoning.agent import AgentResult, cited_ids, run_agent_stream, run_constrained
from vigil.reasoning.chain import ChainRun
from vigil.reasoning.grounding import grounded
from vigil.reasoning.provider import Message, Request
from vigil.reasoning.tools import build_tools

if TYPE_CHECKING:
    from vigil.app import Vigil

# Why a provider's run gave no answer, by its ``stopped_reason`` (for the skip's reason).
NO_ANSWER = {
    "empty": "the reply was empty",
    "invalid_tool_call": "its tool calls were malformed twice",
    "invalid_output": "its output was invalid twice",
    "deadline": "the deadline passed",
    "max_steps": "it used all its steps without answering",
}


@dataclass(frozen=True, slots=True)
class AskResult:
    answer: str
    provider: str
    model: str
    skipped: list[dict[str, str]]
    tool_calls: list[dict[str, Any]]
    cited_ids: list[str]
    receipt_id: str
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "provider": self.provider,
            "model": self.model,
            "skipped": self.skipped,
            "tool_calls": self.tool_calls,
            "cited_ids": self.cited_ids,
            "receipt_id": self.receipt_id,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


async def ask(
    vigil: Vigil,
    question: str,
    *,
    on_text: Callable[[str], None] | None = None,
    project_dir: Path | None = None,
) -> AskResult:
    from vigil.app.reasoning import close_chain

    tried: list[dict[str, Any]] = []  # every tool call of every provider, in order

    def failed(provider: Any, result: AgentResult, why: str) -> ProviderResponseError:
        tried.extend({"provider": provider.name, **call} for call in result.tool_calls)
        return ProviderResponseError(why, provider=provider.name)

    started = time.monotonic()
    deadline = started + vigil.settings.ask_deadline_s
    workspace = vigil.workspace(project_dir or Path(os.getcwd()))
    chain = await vigil.build_chain(workspace)
    from vigil.app.control import model_proposer

    toolbox = build_tools(workspace, proposer=model_proposer(vigil, project_dir or Path.cwd()))

    async def task(provider: Any, kind: str) -> AgentResult:
        if kind == "rules":
            request = Request(messages=(Message("user", question),), deadline=deadline)
            response = await provider.complete(request)
            if on_text is not None:
                on_text(response.text)
            return AgentResult(
                answer=response.text,
                tool_calls=[],
                steps=1,
                usage=response.usage,
                cited_ids=cited_ids(response.text, []),
                provider=provider.name,
                model=provider.model,
                stopped_reason="answered",
            )
        if kind == "embedded":
            result = await run_constrained(provider, question, toolbox, deadline=deadline)
            sources = [str(call.get("result_preview", "")) for call in result.tool_calls]
            if result.answered and not grounded(result.answer, sources):
                raise failed(provider, result, "answer not grounded in what the tools returned")
            if result.answered and on_text is not None:
                on_text(result.answer)
        else:
            result = await _streamed(provider, question, toolbox, deadline, on_text)
        if not result.answered:
            why = NO_ANSWER.get(result.stopped_reason, result.stopped_reason)
            raise failed(provider, result, f"no usable answer: {why}")
        tried.extend({"provider": provider.name, **call} for call in result.tool_calls)
        return result

    try:
        run: ChainRun[AgentResult] = await chain.run(task, deadline=deadline)
    finally:
        await close_chain(chain)
    result = run.value
    skipped = [s.to_dict() for s in run.skipped]
    # What the answer cost: the provider that answered and every attempt before it.
    prompt_tokens = (run.prompt_tokens or result.usage.prompt_tokens) + sum(
        s.prompt_tokens for s in run.skipped
    )
    completion_tokens = (run.completion_tokens or result.usage.completion_tokens) + sum(
        s.completion_tokens for s in run.skipped
    )
    receipt = vigil.receipts.record(
        kind="answer",
        subject=None,
        provider=run.provider,
        model=run.model,
        elapsed_ms=(time.monotonic() - started) * 1000,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=run.cost,
        inputs={"cited": result.cited_ids},
        tool_calls=tried,
        skipped=skipped,
        outcome={
            "question": question,
            "answer": result.answer,
            "steps": result.steps,
            "stopped_reason": result.stopped_reason,
        },
    )
    return AskResult(
        answer=result.answer,
        provider=run.provider,
        model=run.model,
        skipped=skipped,
        tool_calls=tried,
        cited_ids=result.cited_ids,
        receipt_id=receipt.id,
        elapsed_ms=(time.monotonic() - started) * 1000,
    )


async def _streamed(
    provider: Any,
    question: str,
    toolbox: Any,
    deadline: float,
    on_text: Callable[[str], None] | None,
) -> AgentResult:
    result: AgentResult | None = None
    wrote = False
    try:
        async for item in run_agent_stream(provider, question, toolbox, deadline=deadline):
            if isinstance(item, AgentResult):
                result = item
            elif on_text is not None:
                on_text(item)
                wrote = True
    except Exception:
        if wrote and on_text is not None:
            on_text(f"\n[{provider.name} stopped mid-answer; asking the next provider]\n")
        raise
    if result is None:
        raise ProviderResponseError(f"{provider.name}: no answer", provider=provider.name)
    return result
