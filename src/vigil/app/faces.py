"""The daemon's HTTP faces beyond the events API: proposals, MCP and the dashboard
(``vigil.api.dashboard``, whose changes go through the proposal routes), behind the API's tokens.

``vigil.app.hearing`` owns the tokens (``Authenticator``); this module binds the proposal routes
(``vigil.api.proposals``) and the streamable-HTTP MCP server (``vigil.api.mcp``) to that same
check, so one ``vigil token create`` opens every face. Proposals are read without it on
loopback, like events, and changed only with it; MCP needs it for every request.

The MCP server's session manager runs once per HTTP lifespan (the supervisor may restart the
HTTP component), so the mount builds a fresh server each time the lifespan starts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from vigil.api.auth import Authenticator
    from vigil.app import Vigil


def _who(auth: Authenticator) -> Callable[[Request], Any]:
    """The proposals' ``authorize``: who the token belongs to (``token:NAME``), or None."""

    async def who(request: Request) -> str | None:
        record = await auth.check(request.headers.get("authorization"))
        return None if record is None else f"token:{record.name}"

    return who


def _token_ok(auth: Authenticator) -> Callable[[str | None], Any]:
    async def ok(token: str | None) -> bool:
        return token is not None and await auth.check(f"Bearer {token}") is not None

    return ok


class McpMount:
    """An ASGI app answering for the current MCP server (503 outside the HTTP lifespan)."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self.current: Any = None

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        mcp = self.factory()
        async with mcp.lifespan():
            self.current = mcp.app
            try:
                yield
            finally:
                self.current = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.current
        if app is None:
            body = json.dumps({"error": "the MCP server is starting"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)


def faces(
    vigil: Vigil, auth: Authenticator, project_dir: Path, daemon: Any = None
) -> tuple[list[BaseRoute], Callable[[Any], AbstractAsyncContextManager[None]]]:
    """The routes to add to the daemon's app, and the lifespan it must run; with ``daemon``
    (the running :class:`vigil.app.daemon.Daemon`), the dashboard's too."""
    from vigil.api.mcp import http_app
    from vigil.api.proposals import proposal_routes
    from vigil.app.mcp import StoreFace

    mount = McpMount(lambda: http_app(StoreFace(vigil, project_dir), _token_ok(auth)))
    routes: list[BaseRoute] = [
        *proposal_routes(vigil.control, _who(auth)),
        Route("/mcp", endpoint=mount, methods=["GET", "POST", "DELETE"]),
    ]
    if daemon is not None:
        from vigil.api.dashboard import dashboard_routes
        from vigil.app.dashboard import daemon_sources

        routes += dashboard_routes(daemon_sources(vigil, daemon))

    def lifespan(app: Any) -> AbstractAsyncContextManager[None]:
        return mount.lifespan()

    return routes, lifespan
