"""Webhooks: ``POST /hooks/github`` and ``POST /hooks/alertmanager``.

GitHub: the signature (``X-Hub-Signature-256``, HMAC-SHA256 of the raw body with the secret
from the environment variable named by ``[hooks.github] secret_env``) is checked before the
body is even parsed; a bad or missing one, or no secret configured, is ``401`` and nothing is
stored. ``X-GitHub-Delivery`` is stored with the delivery's events in one transaction: a
repeated delivery answers ``200`` with the first one's ids and stores nothing. ``ping`` answers
``200``; an event type Vigil does not map answers ``202`` and is counted
(``vigil_webhook_deliveries_total{outcome="ignored"}``). Stored: ``201 {"ids", "stored"}``.
Both ``application/json`` and ``application/x-www-form-urlencoded`` (``payload=``) bodies work.

Alertmanager (webhook payload version 4) needs the bearer token (Alertmanager's
``http_config.authorization``); see :mod:`vigil.sources.alertmanager` for the mapping and the
per-fingerprint deduplication.

Both: over the body limit ``413``; malformed JSON or a payload missing what its mapping needs
``400`` with a one-line reason; the intake full ``503`` with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vigil.api.context import ApiContext, BodyTooLarge, error, loads, read_body, too_large
from vigil.api.ingest import busy, storage_down
from vigil.errors import StorageError, ValidationError
from vigil.events.intake import Saturated
from vigil.sources import alertmanager, github

# JSONDecodeError, UnicodeDecodeError, too many form fields, nesting too deep
_JSON_ERRORS = (ValueError, RecursionError)


def _github_payload(request: Request, body: bytes) -> Any:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8"), max_num_fields=10)
        if "payload" not in form:
            raise ValidationError("a form-encoded delivery needs a 'payload' field")
        return loads(form["payload"][0])
    return loads(body)


def routes(ctx: ApiContext) -> list[Route]:
    db = ctx.bus.db

    async def github_hook(request: Request) -> Response:
        try:
            body = await read_body(request, ctx.max_body)
        except BodyTooLarge:
            return too_large(ctx.max_body)
        if ctx.github_secret is None:
            return error(401, "no GitHub webhook secret is configured on this daemon")
        if not github.verify_signature(
            ctx.github_secret, body, request.headers.get("x-hub-signature-256")
        ):
            ctx.count("webhook_deliveries", source="github", event="-", outcome="unsigned")
            return error(401, "missing or invalid X-Hub-Signature-256")
        name = request.headers.get("x-github-event", "").strip()
        if not name:
            return error(400, "missing X-GitHub-Event header")
        delivery = request.headers.get("x-github-delivery", "").strip() or None
        if delivery is not None and len(delivery) > 200:
            return error(400, "X-GitHub-Delivery is longer than 200 characters")
        label = github.counted_name(name)
        try:
            payload = _github_payload(request, body)
            mapped = github.map_delivery(name, payload, clock=ctx.clock, delivery=delivery)
        except ValidationError as exc:
            ctx.count("webhook_deliveries", source="github", event=label, outcome="malformed")
            return error(400, str(exc))
        except _JSON_ERRORS as exc:
            ctx.count("webhook_deliveries", source="github", event=label, outcome="malformed")
            return error(400, f"malformed JSON: {getattr(exc, 'msg', exc)}")
        if mapped.outcome == "ping":
            ctx.count("webhook_deliveries", source="github", event=label, outcome="ping")
            return JSONResponse({"pong": True})
        if not mapped.events:
            ctx.count("webhook_deliveries", source="github", event=label, outcome="ignored")
            return JSONResponse({"ignored": True, "reason": mapped.reason}, 202)
        key = f"github:{delivery}" if delivery else None
        claim = ctx.ledger.once(key) if key else None
        try:
            stored = await ctx.intake.submit(mapped.events, claim)
        except Saturated as exc:
            ctx.count("webhook_deliveries", source="github", event=label, outcome="busy")
            return busy(exc)
        except StorageError as exc:
            return storage_down(exc)
        if key and not stored:
            ctx.count("webhook_deliveries", source="github", event=label, outcome="duplicate")
            ids = await db.call(ctx.ledger.seen, key)
            return JSONResponse({"ids": ids or [], "stored": 0, "duplicate": True})
        ctx.count("webhook_deliveries", source="github", event=label, outcome="stored")
        return JSONResponse({"ids": [e.id for e in stored], "stored": len(stored)}, 201)

    async def alertmanager_hook(request: Request) -> Response:
        refused = await ctx.auth.require(request)
        if refused is not None:
            return refused
        try:
            body = await read_body(request, ctx.max_body)
        except BodyTooLarge:
            return too_large(ctx.max_body)
        try:
            events = alertmanager.map_payload(loads(body), clock=ctx.clock)
        except ValidationError as exc:
            return error(400, str(exc))
        except _JSON_ERRORS as exc:
            return error(400, f"malformed JSON: {getattr(exc, 'msg', exc)}")
        try:
            stored = await ctx.intake.submit(events, ctx.alerts.claim()) if events else []
        except Saturated as exc:
            return busy(exc)
        except StorageError as exc:
            return storage_down(exc)
        outcome = "stored" if stored else "repeated"
        ctx.count("webhook_deliveries", source="alertmanager", event="alert", outcome=outcome)
        return JSONResponse(
            {
                "ids": [e.id for e in stored],
                "stored": len(stored),
                "unchanged": len(events) - len(stored),
            },
            201 if stored else 200,
        )

    return [
        Route("/hooks/github", github_hook, methods=["POST"]),
        Route("/hooks/alertmanager", alertmanager_hook, methods=["POST"]),
    ]
