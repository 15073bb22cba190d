"""``/api/events``: store events (token), read them, follow them as Server-Sent Events.

- ``POST /api/events``: one event object or an array, validated like ``vigil ingest``
  (:mod:`vigil.events.ingest`), all or nothing. ``201 {"ids": [...], "stored": n}``. An
  ``Idempotency-Key`` header makes a retry safe: the same key again answers ``200`` with the
  first request's ids and stores nothing.
- ``GET /api/events?type=PATTERN&since=TIME&limit=N&after=SEQ``: the filters of ``vigil events``;
  a JSON array, oldest first. ``GET /api/events/{id}``: one event.
- ``GET /api/events/stream?type=PATTERN&after=SEQ``: ``text/event-stream``, one message per event
  (``id:`` its position, ``event:`` its type, ``data:`` its JSON). Resumable: a reconnecting client
  sends ``Last-Event-ID`` and gets every matching event after it, none twice. Without either, the
  stream starts at the end of the log. A comment line every 15 s keeps proxies from closing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from vigil.api.context import ApiContext, BodyTooLarge, error, loads, read_body, too_large
from vigil.clock import isoformat, parse_since
from vigil.errors import NotFoundError, StorageError, UsageError, ValidationError
from vigil.events.ingest import build_events, parse_records
from vigil.events.intake import Saturated
from vigil.events.model import Event

SOURCE = "vigil.api"
MAX_LIMIT = 1000
KEEPALIVE_S = 15.0
STREAM_BATCH = 200


def busy(exc: Saturated) -> JSONResponse:
    return error(503, str(exc), {"Retry-After": str(max(1, round(exc.retry_after)))})


def storage_down(exc: StorageError) -> JSONResponse:
    return error(503, f"cannot store now: {exc}", {"Retry-After": "5"})


def _filters(request: Request, ctx: ApiContext) -> tuple[tuple[str, ...], str | None, int, int]:
    params = request.query_params
    patterns = tuple(params.getlist("type"))
    if any(not p.strip() for p in patterns):
        raise UsageError("type needs a pattern such as 'build.*'")
    since = params.get("since")
    when = isoformat(parse_since(since, ctx.clock.now())) if since else None
    limit = _integer(params.get("limit"), "limit", 50)
    if limit > MAX_LIMIT:
        raise UsageError(f"limit must be at most {MAX_LIMIT}")
    after = _integer(params.get("after"), "after", 0)
    return patterns, when, limit, after


def _integer(text: str | None, name: str, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or len(text) > 18:
        raise UsageError(f"{name} must be a non-negative integer")
    return int(text)


def routes(ctx: ApiContext) -> list[Route]:
    db = ctx.bus.db
    log = ctx.bus.log

    async def post_events(request: Request) -> Response:
        refused = await ctx.auth.require(request)
        if refused is not None:
            return refused
        try:
            body = await read_body(request, ctx.max_body)
        except BodyTooLarge:
            return too_large(ctx.max_body)
        try:
            records = parse_records(loads(body))
        except (ValueError, RecursionError) as exc:  # JSON, UTF-8, nesting too deep
            return error(400, f"malformed JSON: {getattr(exc, 'msg', exc)}")
        except ValidationError as exc:
            return error(400, str(exc))
        events = build_events(records, clock=ctx.clock, source=SOURCE)
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= 200:
            return error(400, "Idempotency-Key must be 1 to 200 characters")
        claim = ctx.ledger.once(f"api:{key}") if key else None
        try:
            stored = await ctx.intake.submit(events, claim)
        except Saturated as exc:
            return busy(exc)
        except StorageError as exc:
            return storage_down(exc)
        if key and not stored:
            ids = await db.call(ctx.ledger.seen, f"api:{key}")
            return JSONResponse({"ids": ids or [], "stored": 0, "duplicate": True})
        return JSONResponse({"ids": [e.id for e in stored], "stored": len(stored)}, 201)

    async def get_events(request: Request) -> Response:
        try:
            patterns, since, limit, after = _filters(request, ctx)
        except UsageError as exc:
            return error(400, str(exc))
        found = await db.call(
            lambda: log.find(patterns=patterns, since=since, limit=limit, after_seq=after)
        )
        found.reverse()
        return JSONResponse([e.to_dict() for e in found])

    async def get_event(request: Request) -> Response:
        event_id = request.path_params["event_id"]
        try:
            event = await db.call(log.get, event_id)
        except (NotFoundError, UsageError) as exc:
            return error(404, str(exc))
        return JSONResponse(event.to_dict())

    async def stream(request: Request) -> Response:
        try:
            patterns, _, _, after = _filters(request, ctx)
            start = await _resume_point(request, after)
        except (UsageError, NotFoundError) as exc:
            return error(400, str(exc))
        return StreamingResponse(
            _messages(patterns, start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _resume_point(request: Request, after: int) -> int:
        last = request.headers.get("last-event-id", "").strip()
        if last.isdigit() and len(last) <= 18:
            return int(last)
        if last:
            return int((await db.call(log.get, last)).seq or 0)
        if "after" in request.query_params:
            return after
        return await db.call(log.last_seq)

    async def _messages(patterns: tuple[str, ...], last: int) -> AsyncIterator[bytes]:
        waker = asyncio.Event()
        ctx.wakers.add(waker)
        unsubscribe = ctx.bus.subscribe(patterns, lambda _event: waker.set())
        try:
            yield b"retry: 1000\n: connected\n\n"
            while not ctx.closing.is_set():
                waker.clear()
                batch = await db.call(log.read_after, last, patterns, STREAM_BATCH)
                for event in batch:
                    last = event.seq or last
                    yield _message(event)
                if batch:
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(KEEPALIVE_S):
                        await waker.wait()
                        continue
                yield b": keepalive\n\n"
        finally:
            unsubscribe()
            ctx.wakers.discard(waker)

    return [
        Route("/api/events", post_events, methods=["POST"]),
        Route("/api/events", get_events, methods=["GET"]),
        Route("/api/events/stream", stream, methods=["GET"]),
        Route("/api/events/{event_id}", get_event, methods=["GET"]),
    ]


def _message(event: Event) -> bytes:
    data: dict[str, Any] = event.to_dict()
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.type}\ndata: {body}\n\n".encode()
