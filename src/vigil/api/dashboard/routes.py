"""The dashboard's routes (mounted on the daemon's app by ``vigil.app.faces``).

::

    GET /                              everything, server-rendered (?type=&q= filter the events,
                                       ?range=1h|24h the latency charts)
    GET /dashboard/section/{name}      one panel, for the script to refresh it
    GET /dashboard/notices             delivered notices as Server-Sent Events (the dashboard
                                       channel's live broadcast)
    GET /dashboard/static/{file}       the script and the stylesheet (a fixed list)
    GET /triage/{id}                   one triage card (the diagnosis or its failure's id)
    GET /why/{id}                      ``vigil why ID``, as a page
    GET /kb?q=                         knowledge search;  GET /kb/{id}: one entry, provenance
    GET /notifications/{request}.wav   a spoken notice (only files under notifications/, named
                                       by a request id)

Every answer carries a strict Content-Security-Policy (scripts and styles only from this
origin's files, no inline script or style, nothing framed, nothing posted elsewhere) and
``Referrer-Policy: no-referrer``. Reading needs no token on loopback, like the rest of the API;
changing anything goes through the API's own routes with the token (see ``vigil.api.dashboard``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from vigil.api.dashboard import data
from vigil.api.dashboard.html import Html, el
from vigil.api.dashboard.page import page, section
from vigil.api.dashboard.sources import Sources
from vigil.api.dashboard.views_control import proposals_section
from vigil.api.dashboard.views_events import events_section, triage_card, triage_section
from vigil.api.dashboard.views_health import health_section
from vigil.api.dashboard.views_inbox import inbox_section
from vigil.api.dashboard.views_more import (
    entry_view,
    latency_section,
    search_form,
    search_results,
    why_view,
)
from vigil.errors import NotFoundError, UsageError, ValidationError, VigilError

STATIC_DIR = Path(__file__).with_name("static")
STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
REQUEST_ID = re.compile(r"^ev_[0-9A-HJKMNP-TV-Z]{26}$")
NOTICE_KEEPALIVE_S = 15.0
MAX_FILTER = 200


def _html(body: Html, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY)


def _problem(title: str, message: str, status: int) -> HTMLResponse:
    body = el("section", {"class": "panel"}, el("h2", None, title), el("p", None, message))
    return _html(page(f"Vigil: {title}", body), status)


def dashboard_routes(sources: Sources) -> list[Route]:
    """The routes, bound to what ``sources`` reads."""
    db = sources.db

    async def read(work: Callable[[], Any]) -> Any:
        return await db.call(work)

    def panels(which: tuple[str, ...], params: dict[str, str]) -> Callable[[], dict[str, Html]]:
        """Gather and render ``which`` panels on the database thread (health aside)."""

        def work() -> dict[str, Html]:
            out: dict[str, Html] = {}
            if "events" in which:
                pattern, text = params.get("type", ""), params.get("q", "")
                found = data.events(sources, pattern, text)
                out["events"] = events_section(found, pattern, text, sources.log.last_seq())
            if "triage" in which:
                out["triage"] = triage_section(data.triage_cards(sources))
            if "proposals" in which:
                out["proposals"] = proposals_section(data.proposals(sources))
            if "inbox" in which:
                out["inbox"] = inbox_section(data.notifications(sources))
            if "latency" in which:
                out["latency"] = latency_section(data.latency(sources, params.get("range", "24h")))
            return out

        return work

    async def render(which: tuple[str, ...], params: dict[str, str]) -> dict[str, Html]:
        out: dict[str, Html] = await read(panels(which, params))
        if "health" in which:  # the report reads live daemon state: on the event loop
            report = sources.health()
            found = await read(lambda: data.health_from(sources, report))
            out["health"] = health_section(found)
        return out

    def params_of(request: Request) -> dict[str, str]:
        q = request.query_params
        return {k: q.get(k, "")[:MAX_FILTER] for k in ("type", "q", "range")}

    async def home(request: Request) -> Response:
        params = params_of(request)
        keys = ("events", "triage", "health", "proposals", "inbox", "latency")
        try:
            out = await render(keys, params)
        except (UsageError, ValidationError) as exc:
            return _problem("Bad filter", str(exc), 400)
        body = [
            section("events", "Events", out["events"], wide=True),
            section("triage", "Triage", out["triage"], wide=True),
            section("health", "Health", out["health"]),
            section("proposals", "Proposals", out["proposals"]),
            section("inbox", "Notifications", out["inbox"]),
            section("latency", "Latency", out["latency"]),
            section("knowledge", "Knowledge", search_form("")),
        ]
        return _html(page("Vigil", body, home=True))

    async def one_section(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("triage", "health", "proposals", "inbox", "latency", "events"):
            return _problem("Not found", f"no section named {name!r}", 404)
        out = await render((name,), params_of(request))
        return _html(out[name])

    async def triage_page(request: Request) -> Response:
        ident = request.path_params["id"]
        try:
            card = await read(lambda: data.triage_card(sources, ident))
        except (NotFoundError, UsageError) as exc:
            return _problem("Not found", str(exc), 404)
        body = section("triage", "Triage", triage_card(card))
        return _html(page("Vigil: triage", body))

    async def why_page(request: Request) -> Response:
        ident = request.path_params["id"]
        try:
            kind, body = await read(lambda: sources.why(ident))
        except (NotFoundError, UsageError) as exc:
            return _problem("Nothing explains this", str(exc), 404)
        view = el("section", {"class": "panel"}, why_view(ident, kind, body))
        return _html(page(f"Vigil: why {ident}", view))

    async def kb_page(request: Request) -> Response:
        query = request.query_params.get("q", "")[:MAX_FILTER]
        hits: list[dict[str, Any]] = []
        error = None
        if query.strip():
            try:
                hits = await read(lambda: sources.search(query))
            except (ValidationError, UsageError) as exc:
                error = str(exc)
            except VigilError as exc:
                error = f"search failed: {exc}"
        body = section(
            "knowledge", "Knowledge", search_form(query), search_results(query, hits, error)
        )
        return _html(page("Vigil: knowledge", body), 400 if error else 200)

    async def kb_entry(request: Request) -> Response:
        ident = request.path_params["id"]
        try:
            entry = await read(lambda: sources.entry(ident))
        except (NotFoundError, UsageError, ValidationError) as exc:
            return _problem("Not found", str(exc), 404)
        view = el("section", {"class": "panel"}, entry_view(entry))
        return _html(page(f"Vigil: {entry.get('title')}", view))

    async def wav(request: Request) -> Response:
        name = request.path_params["name"]
        folder = sources.notifications_dir
        rid = name.removesuffix(".wav")
        if folder is None or not name.endswith(".wav") or not REQUEST_ID.match(rid):
            return Response("not found\n", 404, media_type="text/plain", headers=SECURITY)
        path = folder / f"{rid}.wav"
        try:
            real = path.resolve(strict=True)
            inside = real.parent == folder.resolve(strict=True) and real.is_file()
        except OSError:
            inside = False
        if not inside:
            return Response("not found\n", 404, media_type="text/plain", headers=SECURITY)
        return FileResponse(real, media_type="audio/wav", headers=SECURITY)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        media = STATIC.get(name)
        if media is None:
            return Response("not found\n", 404, media_type="text/plain", headers=SECURITY)
        headers = {**SECURITY, "Cache-Control": "no-cache"}
        return FileResponse(STATIC_DIR / name, media_type=media, headers=headers)

    async def notices(request: Request) -> Response:
        broadcast = sources.notices
        if broadcast is None:
            return Response("no live notices here\n", 404, media_type="text/plain")
        return StreamingResponse(
            _notice_stream(broadcast, sources.closing),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def favicon(request: Request) -> Response:
        return Response(status_code=204, headers=SECURITY)

    return [
        Route("/", home, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Route("/dashboard/section/{name}", one_section, methods=["GET"]),
        Route("/dashboard/notices", notices, methods=["GET"]),
        Route("/dashboard/static/{name}", static, methods=["GET"]),
        Route("/triage/{id}", triage_page, methods=["GET"]),
        Route("/why/{id}", why_page, methods=["GET"]),
        Route("/kb", kb_page, methods=["GET"]),
        Route("/kb/{id}", kb_entry, methods=["GET"]),
        Route("/notifications/{name}", wav, methods=["GET"]),
    ]


async def _notice_stream(broadcast: Any, closing: asyncio.Event) -> AsyncIterator[bytes]:
    """Each delivered notice as an SSE message, until the daemon stops."""
    queue, unsubscribe = broadcast.subscribe()
    stop = asyncio.ensure_future(closing.wait())
    getter: asyncio.Future[Any] | None = None
    try:
        yield b"retry: 2000\n: connected\n\n"
        while not closing.is_set():
            if getter is None:
                getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait(
                {getter, stop}, timeout=NOTICE_KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
            )
            if getter not in done:
                if stop not in done:
                    yield b": keepalive\n\n"
                continue
            item, getter = getter.result(), None
            body = json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str)
            yield f"event: notice\ndata: {body}\n\n".encode()
    finally:
        for future in (getter, stop):
            if future is not None:
                future.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await future
        unsubscribe()
