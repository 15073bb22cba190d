"""Fakes for tests, shipped with the package so every test suite uses the same ones.

Production code never imports this module (import-linter enforces it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from vigil.events.bus import EventBus
from vigil.events.model import Event


class FakeClock:
    """A clock that moves only when told; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


@contextmanager
def capture_events(bus: EventBus, *patterns: str) -> Iterator[list[Event]]:
    """Collect every event the running ``bus`` sees (from any process) that matches."""
    seen: list[Event] = []
    unsubscribe: Callable[[], None] = bus.subscribe(patterns, seen.append)
    try:
        yield seen
    finally:
        unsubscribe()


async def eventually(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait (real time, polling every 2 ms) until ``condition()`` is true; fail after
    ``timeout`` seconds. For tests of concurrent parts, where "soon" has no single moment."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        await asyncio.sleep(0.002)


# -- model providers ---------------------------------------------------------------------------

from collections.abc import AsyncIterator, Awaitable, Sequence  # noqa: E402 - appended section
from inspect import isawaitable  # noqa: E402

from vigil.reasoning.provider import Chunk, Request, Response  # noqa: E402

Reply = Response | Exception | Callable[[Request], Response]


class ScriptedProvider:
    """A provider that answers from a script: each call takes the next reply in order.

    A reply is a :class:`Response` (returned), an exception (raised) or a callable that gets the
    :class:`Request` and returns a response (to look at the request, or move a ``FakeClock``).
    Every request is kept in ``requests``. When the script runs out, ``complete`` raises
    ``AssertionError``: a test that makes more calls than it scripted is wrong.
    """

    def __init__(
        self,
        name: str,
        replies: Sequence[Reply],
        *,
        local: bool = True,
        model: str = "scripted",
    ) -> None:
        self.name = name
        self.model = model
        self._local = local
        self.replies: list[Reply] = list(replies)
        self.requests: list[Request] = []

    @property
    def local(self) -> bool:
        return self._local

    async def complete(self, request: Request) -> Response:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(
                f"{self.name}: no scripted reply left for call {len(self.requests)}"
            )
        reply = self.replies.pop(0)
        await asyncio.sleep(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, Response):
            return reply
        return reply(request)

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        response = await self.complete(request)
        text = response.text
        for start in range(0, len(text), 16):
            yield Chunk(text=text[start : start + 16])
        yield Chunk(response=response)


class FunctionProvider:
    """A provider whose answers come from ``fn(request)`` (sync or async); requests are kept."""

    def __init__(
        self,
        name: str,
        fn: Callable[[Request], Response | Awaitable[Response]],
        *,
        local: bool = True,
        model: str = "function",
    ) -> None:
        self.name = name
        self.model = model
        self._local = local
        self.fn = fn
        self.requests: list[Request] = []

    @property
    def local(self) -> bool:
        return self._local

    async def complete(self, request: Request) -> Response:
        self.requests.append(request)
        result = self.fn(request)
        if isawaitable(result):
            return await result
        return result

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        response = await self.complete(request)
        text = response.text
        for start in range(0, len(text), 16):
            yield Chunk(text=text[start : start + 16])
        yield Chunk(response=response)


# -- notification channels ---------------------------------------------------------------------

from typing import Any  # noqa: E402

from vigil.notify.channels import Notice  # noqa: E402


class RecordingChannel:
    """A channel that keeps what it is sent; ``fail_with`` makes every send raise it."""

    def __init__(self, name: str, *, fail_with: Exception | None = None) -> None:
        self.name = name
        self.fail_with = fail_with
        self.notices: list[Notice] = []
        self.why_unavailable: str | None = None

    def unavailable(self) -> str | None:
        return self.why_unavailable

    async def send(self, notice: Notice) -> dict[str, Any] | None:
        await asyncio.sleep(0)
        if self.fail_with is not None:
            raise self.fail_with
        self.notices.append(notice)
        return None
