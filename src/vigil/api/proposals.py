"""Proposals over HTTP: list and read (open on loopback), propose, approve and deny (token).

``proposal_routes(control, authorize)`` returns Starlette routes to mount on the daemon's app::

    GET  /api/proposals[?all=1]          the pending ones (all: every one), newest first
    GET  /api/proposals/{id}             one proposal
    POST /api/proposals                  {"action", "args", "why"?, "expires"?} -> 201
    POST /api/proposals/{id}/approve     {"client"?: "dashboard"} -> 200
    POST /api/proposals/{id}/deny        {"why"?, "client"?} -> 200

``authorize(request)`` returns the name of the token a request carries when it may change state,
``None`` otherwise (401). An approval records who (the token's name) and from where: ``api``,
or ``dashboard`` when the dashboard says so (``X-Vigil-Client: dashboard`` or ``"client":
"dashboard"``). Answers: 404 unknown id, 409 a proposal already decided, expired or running
(nothing changes), 400 a malformed body or action, 413 a body over 64 KiB.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vigil.errors import NotFoundError, UsageError, ValidationError, VigilError
from vigil.guard.control import Control, ProposalStateError
from vigil.guard.policy import parse_duration
from vigil.guard.proposals import Approver

MAX_BODY = 64 * 1024
Authorize = Callable[[Request], str | Awaitable[str | None] | None]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _who(request: Request, authorize: Authorize) -> str | None:
    name = authorize(request)
    if not isinstance(name, str) and name is not None:
        name = await name
    return name


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise _TooLarge()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ValidationError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    return body


class _TooLarge(Exception):
    pass


def _via(request: Request, body: dict[str, Any]) -> str:
    client = request.headers.get("x-vigil-client") or body.get("client")
    return "dashboard" if client == "dashboard" else "api"


def proposal_routes(control: Control, authorize: Authorize) -> list[Route]:
    """The routes, bound to ``control`` and the token check ``authorize``."""
    db = control.db

    async def guarded(request: Request, work: Callable[[str, dict[str, Any]], Any]) -> JSONResponse:
        who = await _who(request, authorize)
        if who is None:
            return _error(401, "a valid token is required (Authorization: Bearer TOKEN)")
        try:
            body = await _body(request)
            return await work(who, body)  # type: ignore[no-any-return]
        except _TooLarge:
            return _error(413, f"the body is larger than {MAX_BODY} bytes")
        except NotFoundError as exc:
            return _error(404, str(exc))
        except ProposalStateError as exc:
            return _error(409, str(exc))
        except (ValidationError, UsageError) as exc:
            return _error(400, str(exc))
        except VigilError as exc:
            return _error(500, str(exc))

    async def listing(request: Request) -> JSONResponse:
        include_all = request.query_params.get("all", "") in ("1", "true", "yes")
        await db.call(control.expire_due)
        found = await db.call(lambda: control.store.find(include_all=include_all))
        return JSONResponse([p.to_dict() for p in found])

    async def one(request: Request) -> JSONResponse:
        try:
            proposal = await db.call(control.store.get, request.path_params["id"])
        except NotFoundError as exc:
            return _error(404, str(exc))
        except UsageError as exc:
            return _error(400, str(exc))
        return JSONResponse(proposal.to_dict())

    async def create(request: Request) -> JSONResponse:
        async def work(who: str, body: dict[str, Any]) -> JSONResponse:
            expires = body.get("expires")
            expires_s = parse_duration(expires, "expires") if expires is not None else None
            why = body.get("why", "")
            change = await db.call(
                lambda: control.propose(
                    body.get("action"),
                    body.get("args"),
                    why=why if isinstance(why, str) else "",
                    evidence=body.get("evidence"),
                    proposer=f"person:{who}",
                    expires_s=expires_s,
                )
            )
            return JSONResponse(change.proposal.to_dict(), status_code=201)

        return await guarded(request, work)

    async def approve(request: Request) -> JSONResponse:
        async def work(who: str, body: dict[str, Any]) -> JSONResponse:
            approver = Approver(by=who, via=_via(request, body))
            change = await db.call(control.approve, request.path_params["id"], approver)
            return JSONResponse(change.proposal.to_dict())

        return await guarded(request, work)

    async def deny(request: Request) -> JSONResponse:
        async def work(who: str, body: dict[str, Any]) -> JSONResponse:
            approver = Approver(by=who, via=_via(request, body))
            why = body.get("why", "")
            if not isinstance(why, str):
                raise ValidationError("why must be a string")
            change = await db.call(control.deny, request.path_params["id"], approver, why)
            return JSONResponse(change.proposal.to_dict())

        return await guarded(request, work)

    return [
        Route("/api/proposals", listing, methods=["GET"]),
        Route("/api/proposals", create, methods=["POST"]),
        Route("/api/proposals/{id}", one, methods=["GET"]),
        Route("/api/proposals/{id}/approve", approve, methods=["POST"]),
        Route("/api/proposals/{id}/deny", deny, methods=["POST"]),
    ]
