"""Any OpenAI-compatible chat endpoint: Groq, Cerebras, OpenAI, vLLM, llama.cpp, LM Studio, Ollama.

One adapter, configured per endpoint (:meth:`OpenAICompatibleProvider.from_config` reads a
``[[reasoning.providers]]`` table). httpx stays inside the ``openai*`` modules; callers see the
:class:`~vigil.reasoning.provider.Provider` protocol and Vigil's errors, translated here
(``raise ... from exc``)::

    connect error, timeout, deadline, 408/5xx, stream cut off  ProviderUnavailable
    429                                                        RateLimited (retry_after)
    401/403, other 4xx, missing key                            ProviderError
    not JSON, not a chat completion, no JSON under a schema    ProviderResponseError

Each error has ``provider`` (and, from HTTP, ``status``) in ``details``. The adapter never
retries (the chain does), except to step down a feature the server rejected with a 400/422
(``response_format`` json_schema -> json_object -> schema in the prompt; ``stream_options``),
which it remembers for the rest of the instance's life.

Time. The effective timeout of a call is ``min(timeout_s, what remains of request.deadline)``,
measured on the injected clock, and it bounds the whole call (connect, send, wait, read). A
stream is bounded by the deadline as a whole, and by ``timeout_s`` for each wait (the first
byte, and every gap between chunks), so that a long answer arriving steadily is not cut off.

Secrets. The key is held in a wrapper whose repr is ``<secret>``, sent only in the
``Authorization`` header, and scrubbed from any server message we quote. Loopback endpoints
ignore the proxy variables (httpx's ``trust_env``); remote ones honour them.

Layout: the wire format is :mod:`.openai_wire`, config validation :mod:`.openai_config`, HTTP
errors :mod:`.openai_errors`, Ollama discovery :mod:`.openai_probe`. This module (a little over
the 400-line aim) keeps the calls and the stream loop together, as they share the deadline logic.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from vigil.clock import Clock, SystemClock
from vigil.errors import ProviderError, ProviderResponseError, ProviderUnavailable
from vigil.reasoning.provider import Chunk, Request, Response
from vigil.reasoning.providers.openai_config import (
    DEFAULT_TIMEOUT_S,
    EndpointConfig,
    Prices,
    check_base_url,
    is_loopback,
    parse,
)
from vigil.reasoning.providers.openai_errors import server_message, status_error
from vigil.reasoning.providers.openai_probe import probe_ollama
from vigil.reasoning.providers.openai_wire import (
    SCHEMA_MODES,
    Answer,
    SchemaMode,
    ServerError,
    SseDecoder,
    StreamState,
    WireError,
    build_body,
    json_text,
    parse_completion,
)

__all__ = ["OpenAICompatibleProvider", "Prices", "is_loopback", "probe_ollama"]

_log = logging.getLogger(__name__)
_LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=2, keepalive_expiry=30.0)
_STEP_DOWN_STATUSES = (400, 422)


class _Secret:
    """A value that never shows itself in a repr, a str or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


class OpenAICompatibleProvider:
    """A :class:`~vigil.reasoning.provider.Provider` for one OpenAI-compatible endpoint."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        model: str,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
        prices: Prices | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = check_base_url(f"provider {name!r}", base_url)
        self.api_key_env = api_key_env
        self.timeout_s = float(timeout_s)
        self.prices = prices or Prices()
        self._key = _Secret(api_key) if api_key else None
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._clock: Clock = clock or SystemClock()
        self._local = is_loopback(self.base_url)
        self._client: httpx.AsyncClient | None = None
        self._schema_mode: SchemaMode = "json_schema"
        self._stream_usage = True

    @classmethod
    def from_config(
        cls,
        table: Mapping[str, Any],
        environ: Mapping[str, str],
        *,
        extra_keys: Collection[str] = (),
        clock: Clock | None = None,
    ) -> Self:
        """A provider from a ``[[reasoning.providers]]`` table; its key is looked up in
        ``environ`` under ``api_key_env``. Keys in ``extra_keys`` belong to the caller (the
        chain's budgets, say) and are accepted unread. Raises ``ConfigError``."""
        config: EndpointConfig = parse(table, extra_keys)
        key = environ.get(config.api_key_env) if config.api_key_env else None
        return cls(
            name=config.name,
            base_url=config.base_url,
            model=config.model,
            api_key=key or None,
            api_key_env=config.api_key_env,
            timeout_s=config.timeout_s,
            headers=config.headers,
            prices=config.prices,
            clock=clock,
        )

    @property
    def local(self) -> bool:
        """True when the endpoint is on loopback (127.0.0.0/8, ::1, localhost)."""
        return self._local

    @property
    def has_credentials(self) -> bool:
        """False when the config names a key variable that was not set: calls would fail."""
        return self._key is not None or self.api_key_env is None

    @property
    def schema_mode(self) -> SchemaMode:
        """How schema-constrained answers are asked for, after any step-down so far."""
        return self._schema_mode

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, "
            f"base_url={self.base_url!r}, local={self._local})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (a later call opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- calls -------------------------------------------------------------------------------------

    async def complete(self, request: Request) -> Response:
        """Answer ``request`` before its deadline or raise a ``ProviderError``."""
        started = self._clock.monotonic()
        while True:
            budget = self._budget(request)
            body = self._body(request, stream=False)
            try:
                async with asyncio.timeout(budget):
                    reply = await self._http().post(
                        self._url, json=body, headers=self._auth(), timeout=budget
                    )
            except TimeoutError as exc:
                raise self._unavailable(f"timed out after {budget:.1f} s", "timeout") from exc
            except httpx.HTTPError as exc:
                raise self._translate(exc) from exc
            if reply.status_code == 200:
                return self._response(self._decode(reply.content), request, started)
            if not self._step_down(reply.status_code, reply.content, body):
                raise self._status_error(reply)

    async def stream(self, request: Request) -> AsyncGenerator[Chunk, None]:
        """Yield text as it comes, then a chunk holding the whole response.

        A stream that ends before the server said it was complete raises ProviderUnavailable;
        what was already yielded stays yielded. Close the iterator (``contextlib.aclosing``) if
        you stop early, so that the connection is released at once.
        """
        started = self._clock.monotonic()
        response = None
        while response is None:
            body = self._body(request, stream=True)
            response = await self._open_stream(body, self._budget(request))
        if response.headers.get("content-type", "").startswith("application/json"):
            answer = await self._whole(response, request)  # the server would not stream
            if answer.text:
                yield Chunk(text=answer.text)
            yield Chunk(response=self._response(answer, request, started))
            return
        state = StreamState(model=self.model)
        try:
            lines = response.aiter_lines()
            decoder = SseDecoder()
            while not state.done:
                line = await self._next_line(lines, request, state)
                data = decoder.flush() if line is None else decoder.feed(line)
                if data is not None:
                    text = self._feed(state, data)
                    if text:
                        yield Chunk(text=text)
                if line is None:
                    break
        finally:
            await response.aclose()
        if not state.complete:
            raise self._unavailable("the stream was cut off before the answer was complete", "cut")
        yield Chunk(response=self._response(state.answer(), request, started))

    # -- plumbing ----------------------------------------------------------------------------------

    @property
    def _url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers=self._headers,
                limits=_LIMITS,
                timeout=self.timeout_s,
                follow_redirects=False,
                trust_env=not self._local,
            )
        return self._client

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key.reveal()}"} if self._key else {}

    def _details(self, **more: Any) -> dict[str, Any]:
        return {"provider": self.name, "model": self.model, **more}

    def _unavailable(self, what: str, reason: str) -> ProviderUnavailable:
        return ProviderUnavailable(
            f"provider {self.name!r}: {what}", **self._details(reason=reason)
        )

    def _budget(self, request: Request) -> float:
        """Seconds this call may take; raises when it may not start at all."""
        if not self.has_credentials:
            raise ProviderError(
                f"provider {self.name!r} has no API key: "
                f"the environment variable {self.api_key_env} is not set",
                **self._details(reason="no_key"),
            )
        remaining = request.remaining(self._clock.monotonic())
        if remaining is None:
            return self.timeout_s
        if remaining <= 0:
            raise self._unavailable("the deadline passed before the call could start", "deadline")
        return min(self.timeout_s, remaining)

    def _body(self, request: Request, *, stream: bool) -> dict[str, Any]:
        return build_body(
            request,
            self.model,
            schema_mode=self._schema_mode,
            stream=stream,
            stream_usage=self._stream_usage,
        )

    def _translate(self, exc: httpx.HTTPError) -> ProviderError:
        kind = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return self._unavailable(f"timed out ({kind})", "timeout")
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ProviderError(f"provider {self.name!r}: {exc}", **self._details())
        if isinstance(exc, httpx.TransportError):
            return self._unavailable(f"cannot be reached ({kind}: {exc})", "unreachable")
        return ProviderResponseError(
            f"provider {self.name!r} sent an unreadable answer ({kind})", **self._details()
        )

    def _status_error(self, reply: httpx.Response) -> ProviderError:
        return status_error(
            reply.status_code,
            reply.headers,
            reply.content,
            provider=self.name,
            model=self.model,
            api_key_env=self.api_key_env,
            secret=self._key.reveal() if self._key else None,
            now=self._clock.now(),
        )

    def _step_down(self, status: int, content: bytes, body: Mapping[str, Any]) -> bool:
        """After a 400/422 about a feature we asked for: stop asking for it. True to resend."""
        if status not in _STEP_DOWN_STATUSES:
            return False
        said = server_message(content).lower()
        if "stream_options" in body and "stream_options" in said:
            self._stream_usage = False
            _log.info(
                "provider %r does not take stream_options; streaming without usage", self.name
            )
            return True
        mentioned = any(word in said for word in ("response_format", "json_schema", "json_object"))
        position = SCHEMA_MODES.index(self._schema_mode)
        if "response_format" in body and mentioned and position + 1 < len(SCHEMA_MODES):
            self._schema_mode = SCHEMA_MODES[position + 1]
            _log.info(
                "provider %r rejected %s; now using %s",
                self.name,
                SCHEMA_MODES[position],
                self._schema_mode,
            )
            return True
        return False

    def _decode(self, content: bytes) -> Answer:
        try:
            data = json.loads(content)
        except ValueError as exc:
            raise ProviderResponseError(
                f"provider {self.name!r} answered with a body that is not JSON", **self._details()
            ) from exc
        try:
            return parse_completion(data, self.model)
        except ServerError as exc:
            raise self._unavailable(str(exc), "server_error") from exc
        except WireError as exc:
            raise ProviderResponseError(
                f"provider {self.name!r}: {exc}", **self._details()
            ) from exc

    def _response(self, answer: Answer, request: Request, started: float) -> Response:
        text = answer.text
        if request.schema is not None and not answer.tool_calls:
            cleaned = json_text(text)
            if cleaned is None:
                raise ProviderResponseError(
                    f"provider {self.name!r} was asked for JSON and answered with something else",
                    **self._details(finish_reason=answer.finish_reason),
                )
            text = cleaned
        return Response(
            text=text,
            provider=self.name,
            model=answer.model,
            tool_calls=answer.tool_calls,
            usage=answer.usage,
            cost=self.prices.cost(answer.usage),
            finish_reason=answer.finish_reason,
            elapsed_ms=(self._clock.monotonic() - started) * 1000.0,
        )

    async def _open_stream(self, body: dict[str, Any], budget: float) -> httpx.Response | None:
        """The streaming response (status 200), or None after a step-down (send again)."""
        client = self._http()
        outgoing = client.build_request(
            "POST", self._url, json=body, headers=self._auth(), timeout=budget
        )
        try:
            async with asyncio.timeout(budget):
                response = await client.send(outgoing, stream=True)
                if response.status_code != 200:
                    try:
                        await response.aread()
                    finally:
                        await response.aclose()
        except TimeoutError as exc:
            raise self._unavailable(f"timed out after {budget:.1f} s", "timeout") from exc
        except httpx.HTTPError as exc:
            raise self._translate(exc) from exc
        if response.status_code == 200:
            return response
        if self._step_down(response.status_code, response.content, body):
            return None
        raise self._status_error(response)

    async def _whole(self, response: httpx.Response, request: Request) -> Answer:
        """A streaming request answered with one JSON body: read and decode it."""
        try:
            async with asyncio.timeout(self._budget(request)):
                content = await response.aread()
        except TimeoutError as exc:
            raise self._unavailable("timed out reading the answer", "timeout") from exc
        except httpx.HTTPError as exc:
            raise self._translate(exc) from exc
        finally:
            await response.aclose()
        return self._decode(content)

    async def _next_line(
        self, lines: AsyncIterator[str], request: Request, state: StreamState
    ) -> str | None:
        """The stream's next line, None at its end; bounded by timeout_s and the deadline."""
        try:
            budget = self._budget(request)
        except ProviderUnavailable:
            raise self._unavailable("the deadline passed mid-stream", "timeout") from None
        try:
            async with asyncio.timeout(budget):
                return await anext(lines, None)
        except TimeoutError as exc:
            raise self._unavailable(f"the stream stalled for {budget:.1f} s", "timeout") from exc
        except httpx.HTTPError as exc:
            if state.complete:
                return None  # cut after the answer was whole: nothing is missing
            raise self._unavailable(
                f"the stream was cut off ({type(exc).__name__})", "cut"
            ) from exc

    def _feed(self, state: StreamState, data: str) -> str:
        try:
            return state.feed(data)
        except ServerError as exc:
            raise self._unavailable(str(exc), "server_error") from exc
        except WireError as exc:
            raise ProviderResponseError(
                f"provider {self.name!r}: {exc}", **self._details()
            ) from exc
