"""Who may do what over HTTP.

- Anything that changes state needs ``Authorization: Bearer <token>`` (a token from
  ``vigil token create``); GitHub deliveries prove themselves with their HMAC signature instead.
- On loopback (the default) reads are open. Bound elsewhere (``--allow-remote``), every route
  but ``/healthz`` and ``/readyz`` needs the token, reads included: :class:`RemoteGuard` wraps
  the whole app and refuses before any route runs. GitHub's webhook keeps its signature check.
- Refusals are ``401`` with ``WWW-Authenticate: Bearer`` and a one-line JSON reason; the token
  itself is never logged or echoed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from vigil.api.tokens import TokenRecord, TokenStore
from vigil.errors import StorageError
from vigil.storage import Database

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
SIGNED_PATHS = frozenset({"/hooks/github"})


def bearer(header: str | None) -> str | None:
    """The token in an ``Authorization: Bearer`` header, if any."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def refusal(reason: str) -> JSONResponse:
    return JSONResponse(
        {"error": reason}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="vigil"'}
    )


class Authenticator:
    """Checks bearer tokens against the store without blocking the event loop."""

    def __init__(self, tokens: TokenStore, db: Database) -> None:
        self.tokens = tokens
        self.db = db

    async def check(self, header: str | None) -> TokenRecord | None:
        token = bearer(header)
        if token is None:
            return None
        hit, record = self.tokens.cached(token)
        if hit:
            return record
        return await self.db.call(self.tokens.check, token)

    async def require(self, request: Request) -> JSONResponse | None:
        """``None`` when the request carries a live token, else the 401 to answer with."""
        header = request.headers.get("authorization")
        if header is None:
            return refusal("missing Authorization: Bearer token (create one: vigil token create)")
        try:
            record = await self.check(header)
        except StorageError as exc:
            return JSONResponse(
                {"error": f"cannot check the token now: {exc}"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        if record is None:
            return refusal("invalid or revoked token")
        return None


class RemoteGuard:
    """ASGI middleware for a daemon bound beyond loopback: every request needs the token."""

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_PATHS or path in SIGNED_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            allowed = await self.auth.check(headers.get("authorization")) is not None
        except StorageError:
            allowed = False
        if allowed:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": "this daemon is reachable remotely: every request needs a token"}
        )
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="vigil"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
