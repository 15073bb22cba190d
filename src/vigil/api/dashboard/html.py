"""Building HTML safely: everything is escaped unless it is already :class:`Html`.

``el("td", {"class": "num"}, value)`` escapes ``value`` (and every attribute value); only
fragments built here are :class:`Html`, so event data (untrusted: a test name may hold
``<script>``) always renders as text. There is no other way to make markup in the dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

Child = Any  # str, number, None, Html, or an iterable of those


class Html(str):
    """A string of markup that is safe to put in a page as it is."""

    __slots__ = ()


def esc(value: Any) -> Html:
    """``value`` as text in markup (``None`` is empty)."""
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(escape(str(value), quote=True))


def join(children: Iterable[Child]) -> Html:
    return Html("".join(_render(c) for c in children))


def _render(child: Child) -> str:
    if child is None or child is False:
        return ""
    if isinstance(child, Html):
        return child
    if isinstance(child, str | int | float):
        return esc(child)
    if isinstance(child, Iterable):
        return join(child)
    return esc(child)


# Elements written without content as ``<x ... />``: HTML's void elements, and SVG shapes (in
# SVG inside HTML an unclosed ``<line>`` would swallow the elements after it).
VOID = frozenset(
    {"br", "hr", "img", "input", "link", "meta", "source", "circle", "rect", "line", "polyline"}
)


def el(name: str, attrs: Mapping[str, Any] | None = None, *children: Child) -> Html:
    """``<name attrs>children</name>``; attributes whose value is ``None`` or ``False`` are
    left out, ``True`` gives a bare attribute."""
    parts = [name]
    for key, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(key)
        else:
            parts.append(f'{key}="{esc(value)}"')
    if name in VOID and not children:
        return Html("<" + " ".join(parts) + " />")
    return Html("<" + " ".join(parts) + f">{join(children)}</{name}>")


def pre_json(value: Any) -> Html:
    """Any JSON value, pretty-printed, as text."""
    return el("pre", {"class": "json"}, json.dumps(value, indent=2, ensure_ascii=False))


def when(iso: str | None, *, date: bool = False) -> Html:
    """A time (ISO 8601 UTC) as ``<time>``: UTC text, which the script shows in local time."""
    if not iso:
        return esc("-")
    text = iso[:19].replace("T", " ") if date else iso[11:19]
    return el("time", {"datetime": iso, "title": iso}, text + (" UTC" if date else ""))


def badge(text: str, kind: str | None = None) -> Html:
    """A short status word; ``kind`` picks its colour (ok, warn, bad, info, muted)."""
    return el("span", {"class": f"badge {kind or _kind(text)}"}, text)


_KINDS = {
    "ok": ("running", "closed", "ready", "delivered", "executed", "approved", "active", "passed"),
    "warn": ("half-open", "backoff", "starting", "deferred", "pending", "candidate", "warning"),
    "bad": ("open", "isolated", "degraded", "failed", "denied", "error", "critical", "rejected"),
    "muted": ("stopped", "finished", "expired", "suppressed", "info"),
}


def _kind(text: str) -> str:
    for kind, words in _KINDS.items():
        if text in words:
            return kind
    return "info"


def bold_marks(snippet: str) -> Html:
    """A search snippet whose ``**matched**`` words become ``<mark>`` (the rest escaped)."""
    pieces = snippet.split("**")
    return join(el("mark", None, p) if i % 2 else esc(p) for i, p in enumerate(pieces))
