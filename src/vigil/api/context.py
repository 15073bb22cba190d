"""What the API's routes need from the daemon, and the helpers they share.

:class:`ApiContext` is built by the composition root (``vigil.app.hearing``); the routes know
only this, never how the daemon is wired. Errors are answered as ``{"error": "<one line>"}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from vigil.api.auth import Authenticator
from vigil.clock import Clock
from vigil.events.bus import EventBus
from vigil.events.intake import Intake
from vigil.events.ledger import Ledger
from vigil.sources.alertmanager import AlertStates

DEFAULT_MAX_BODY = 1024 * 1024
# Request bodies are parsed with orjson (about twice as fast as json on webhook payloads); its
# errors are ValueErrors like json's. It refuses nesting past 1024 levels instead of recursing.
loads = orjson.loads
Counter = Callable[..., None]


def _no_count(name: str, n: int = 1, **labels: str) -> None:
    pass


@dataclass(slots=True)
class ApiContext:
    bus: EventBus
    intake: Intake
    auth: Authenticator
    ledger: Ledger
    alerts: AlertStates
    clock: Clock
    github_secret: bytes | None = None
    max_body: int = DEFAULT_MAX_BODY
    count: Counter = _no_count
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    wakers: set[asyncio.Event] = field(default_factory=set)

    def shutdown(self) -> None:
        """End open event streams (the daemon is stopping)."""
        self.closing.set()
        for waker in self.wakers:
            waker.set()


class BodyTooLarge(Exception):
    """The request body is over the limit (answered 413)."""


def error(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def too_large(limit: int) -> JSONResponse:
    return error(413, f"request body over the limit of {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (:class:`BodyTooLarge`) past ``limit`` bytes without reading on."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
