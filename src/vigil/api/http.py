"""The HTTP face on loopback: health now; status and events for the dashboard and checks.

Built as a Starlette app from plain callables, so it knows nothing of how the daemon is wired.
Anything that changes state will require the token (``Authorization: Bearer``); reads are open on
127.0.0.1 only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

Probe = Callable[[], dict[str, Any]]


def create_app(
    *,
    health: Probe,
    ready: Probe,
    status: Probe,
    report: Probe,
    metrics: Callable[[], tuple[bytes, str]] | None = None,
    routes: Sequence[BaseRoute] = (),
    lifespan: Callable[[Any], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """The daemon's HTTP app."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse(health())

    async def readyz(request: Request) -> JSONResponse:
        body = ready()
        return JSONResponse(body, status_code=200 if body.get("ready") else 503)

    async def api_status(request: Request) -> JSONResponse:
        return JSONResponse(status())

    async def api_health(request: Request) -> JSONResponse:
        return JSONResponse(report())

    async def prometheus(request: Request) -> Response:
        if metrics is None:
            return Response("metrics are off\n", status_code=404, media_type="text/plain")
        body, content_type = metrics()
        return Response(body, headers={"Content-Type": content_type})

    return Starlette(
        routes=[
            *routes,  # the API and webhooks (vigil.app.hearing): first, the busiest paths
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/api/status", api_status),
            Route("/api/health", api_health),
            Route("/metrics", prometheus),
        ],
        lifespan=lifespan,
    )
