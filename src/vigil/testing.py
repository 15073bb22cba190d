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
