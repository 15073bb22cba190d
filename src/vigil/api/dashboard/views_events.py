"""The live event stream and the triage cards.

The stream is rendered here (the newest first) and then kept live by the script, which follows
``/api/events/stream`` from the newest position shown and builds each new row with text nodes
only. Filters are a plain GET form (type pattern, text), so they work with JavaScript off too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vigil.api.dashboard.data import TriageCard
from vigil.api.dashboard.html import Html, badge, el, join, when
from vigil.events.model import Event

SUMMARY_KEYS = ("summary", "title", "command", "message", "alertname", "reason", "action", "name")
DETAIL_CHARS = 2000


def summary(event_type: str, data: Mapping[str, Any]) -> str:
    """One line saying what an event is about (the script has the same rule)."""
    for key in SUMMARY_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            text = value.strip().splitlines()[0]
            if "exit_code" in data:
                text += f" (exit {data['exit_code']})"
            return text[:200]
    compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return compact[:200]


def event_row(event: Event) -> Html:
    data = json.dumps(event.data, ensure_ascii=False, indent=1)
    if len(data) > DETAIL_CHARS:
        data = data[:DETAIL_CHARS] + "\n…"
    return el(
        "li",
        {"class": "ev", "data-seq": event.seq, "data-type": event.type},
        el(
            "details",
            None,
            el(
                "summary",
                None,
                when(event.time),
                " ",
                el("code", {"class": "type"}, event.type),
                " ",
                el("span", {"class": "what"}, summary(event.type, event.data)),
                " ",
                el("span", {"class": "src"}, event.subject or event.source),
            ),
            el(
                "p",
                {"class": "meta"},
                el("a", {"href": f"/api/events/{event.id}"}, event.id),
                f" · source {event.source}",
                f" · caused by {event.causation_id}" if event.causation_id else "",
                " · ",
                el("a", {"href": f"/why/{event.id}"}, "why"),
            ),
            el("pre", {"class": "json"}, data),
        ),
    )


def events_section(found: Sequence[Event], pattern: str, text: str, last_seq: int) -> Html:
    form = el(
        "form",
        {"class": "filters", "method": "get", "action": "/#events", "role": "search"},
        el("label", {"for": "f-type"}, "Type"),
        el(
            "input",
            {
                "id": "f-type",
                "name": "type",
                "value": pattern,
                "placeholder": "build.* or triage.completed",
            },
        ),
        el("label", {"for": "f-text"}, "Text"),
        el("input", {"id": "f-text", "name": "q", "value": text, "placeholder": "any words"}),
        el("button", {"type": "submit"}, "Filter"),
        el("span", {"id": "stream-state", "class": "state", "role": "status"}, "not live"),
    )
    rows = [event_row(e) for e in found]
    empty = el("p", {"class": "empty"}, "No events match.") if not found else ""
    return join(
        [
            form,
            empty,
            el(
                "ol",
                {
                    "id": "event-list",
                    "class": "events",
                    "reversed": True,
                    "data-after": last_seq,
                    "data-type": pattern,
                    "data-text": text,
                    "aria-label": "Events, newest first",
                },
                rows,
            ),
        ]
    )


# -- triage cards -----------------------------------------------------------------------------


def _diff(text: str) -> Html:
    lines = []
    for line in text.splitlines():
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"
        if line.startswith(("+++", "---", "@@")):
            kind = "hunk"
        lines.append(el("span", {"class": kind}, line + "\n"))
    return el("pre", {"class": "diff", "aria-label": "diff"}, lines)


def _failures(failures: list[dict[str, Any]]) -> Html:
    items = []
    for f in failures[:20]:
        where = f.get("file") or ""
        if where and f.get("line"):
            where = f"{where}:{f['line']}"
        what = (
            f"{f.get('error_type')}: {f.get('message')}"
            if f.get("error_type")
            else f.get("message")
        )
        items.append(
            el(
                "li",
                None,
                el("code", {"class": "where"}, where or "(no location)"),
                " ",
                el("span", {"class": "test"}, f.get("test") or ""),
                el("div", {"class": "msg"}, what or ""),
            )
        )
    more = f" and {len(failures) - 20} more" if len(failures) > 20 else ""
    return el("ol", {"class": "failures"}, items, el("li", None, more) if more else "")


def _fix(fix: dict[str, Any]) -> Html:
    match = (
        "recorded for this exact failure"
        if fix.get("match") == "fingerprint"
        else f"{round(float(fix.get('similarity') or 0) * 100)}% similar"
        + (f": {fix['because']}" if fix.get("because") else "")
    )
    key = fix.get("key_change") or {}
    key_lines = key.get("lines") if isinstance(key, dict) else None
    return el(
        "div",
        {"class": "fix"},
        el(
            "p",
            None,
            el("strong", None, fix.get("title") or fix.get("id")),
            " ",
            badge(str(fix.get("status") or "active")),
            f" confidence {float(fix.get('confidence') or 0):.2f}, seen {fix.get('seen', 0)}x, ",
            match,
            " · ",
            el("a", {"href": f"/kb/{fix.get('id')}"}, "entry"),
        ),
        el("p", {"class": "body"}, fix.get("body") or "") if fix.get("body") else "",
        el(
            "pre",
            {"class": "key"},
            f"{key.get('path')}:\n" + "\n".join(str(x) for x in key_lines),
        )
        if key_lines
        else "",
        el("details", None, el("summary", None, "the diff"), _diff(fix["diff"]))
        if fix.get("diff")
        else "",
    )


def _suspects(suspects: list[dict[str, Any]]) -> Html:
    if not suspects:
        return el("p", {"class": "empty"}, "No changes since the last green run (or no git).")
    rows = []
    for s in suspects:
        size = ""
        if s.get("added") is not None or s.get("removed") is not None:
            size = f"+{s.get('added') or 0} -{s.get('removed') or 0}"
        rows.append(
            el(
                "li",
                None,
                el("code", None, s.get("path")),
                " ",
                el("span", {"class": "num"}, size),
                " ",
                "" if s.get("committed") else el("span", {"class": "badge warn"}, "uncommitted"),
                el("div", {"class": "msg"}, "; ".join(s.get("reasons") or [])),
            )
        )
    return el("ol", {"class": "suspects"}, rows)


def _history(history: dict[str, Any] | None) -> Html:
    if not history:
        return el("p", None, "History: unknown.")
    seen = int(history.get("seen") or 0)
    if not seen:
        text = "First time seen."
    else:
        text = f"Seen {seen} time{'s' if seen != 1 else ''} before"
        if history.get("first_seen"):
            text += f", first {str(history['first_seen'])[:16].replace('T', ' ')} UTC"
        text += "."
    return el(
        "p",
        {"class": "history"},
        text,
        " ",
        el("span", {"class": "badge warn"}, "flaky") if history.get("flaky") else "",
    )


def _enrichment(card: TriageCard) -> Html:
    if card.enrichment is None:
        return el(
            "p",
            {"class": "enrichment waiting", "data-waiting": card.triage.id},
            "The explanation has not arrived yet.",
        )
    data = card.enrichment.data
    return el(
        "div",
        {"class": "enrichment"},
        el("p", None, el("strong", None, "Likely cause: "), data.get("explanation") or ""),
        el("p", None, el("strong", None, "Next step: "), data.get("next_step") or ""),
        el(
            "p",
            {"class": "meta"},
            f"from {data.get('provider')}"
            + (f" ({data.get('model')})" if data.get("model") else "")
            + f", {float(data.get('elapsed_ms') or 0):.0f} ms",
        ),
    )


def triage_card(card: TriageCard) -> Html:
    data = card.triage.data
    failure = card.failure
    command = failure.data.get("command") if failure else card.triage.subject
    exit_code = failure.data.get("exit_code") if failure else None
    failure_id = failure.id if failure else card.triage.causation_id or card.triage.id
    fixes = data.get("known_fixes") or []
    return el(
        "article",
        {"class": "card", "id": f"card-{card.triage.id}", "data-triage": card.triage.id},
        el(
            "h3",
            None,
            el("code", None, command or "(unknown command)"),
            f" exit {exit_code}" if exit_code is not None else "",
        ),
        el(
            "p",
            {"class": "meta"},
            when(card.triage.time, date=True),
            f" · {failure.type if failure else ''} · fingerprint {data.get('fingerprint') or '-'}"
            f" · triage {float(data.get('elapsed_ms') or 0):.0f} ms · ",
            el("a", {"href": f"/why/{failure_id}"}, "why"),
            " · ",
            el("a", {"href": f"/triage/{card.triage.id}"}, "card"),
        ),
        el("p", {"class": "headline"}, data.get("summary") or ""),
        el("h4", None, "Failures"),
        _failures(data.get("failures") or []),
        el("h4", None, "Known fix" if len(fixes) == 1 else "Known fixes"),
        join(_fix(f) for f in fixes) if fixes else el("p", {"class": "empty"}, "None recorded."),
        el("h4", None, "Suspects"),
        _suspects(data.get("suspects") or []),
        _history(data.get("history")),
        el("h4", None, "Explanation"),
        _enrichment(card),
    )


def triage_section(cards: Sequence[TriageCard]) -> Html:
    if not cards:
        return el("p", {"class": "empty"}, "No failure diagnosed yet (vigil run -- CMD).")
    return join(triage_card(c) for c in cards)
