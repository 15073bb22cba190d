"""Components, circuit breakers and readiness: now, and over the last 24 hours."""

from __future__ import annotations

from typing import Any

from vigil.api.dashboard.charts import STATE_CLASS, span, state_bar
from vigil.api.dashboard.data import Health
from vigil.api.dashboard.html import Html, badge, el, join, when
from vigil.api.dashboard.timeline import Row
from vigil.clock import parse_iso


def _age(iso: str | None, now: float) -> str:
    if not iso:
        return "-"
    try:
        return f"{span(max(now - parse_iso(iso).timestamp(), 0.0))} ago"
    except ValueError:
        return iso


def _th(*names: str) -> Html:
    return el("thead", None, el("tr", None, [el("th", {"scope": "col"}, n) for n in names]))


def _components(items: list[dict[str, Any]], now: float) -> Html:
    rows = [
        el(
            "tr",
            None,
            el("th", {"scope": "row"}, c.get("name")),
            el("td", None, badge(str(c.get("status")))),
            el("td", {"class": "num"}, c.get("restarts", 0)),
            el("td", None, _age(c.get("last_beat"), now)),
            el("td", {"class": "msg"}, c.get("last_error") or ""),
        )
        for c in items
    ]
    return el(
        "table",
        {"class": "components"},
        el("caption", None, "Components"),
        _th("component", "status", "restarts", "last beat", "last error"),
        el("tbody", None, rows),
    )


def _breakers(items: list[dict[str, Any]]) -> Html:
    if not items:
        return el("p", {"class": "empty"}, "No circuit breaker has been used yet.")
    rows = [
        el(
            "tr",
            None,
            el("th", {"scope": "row"}, b.get("name")),
            el("td", None, badge(str(b.get("state")))),
            el("td", {"class": "num"}, b.get("failures", 0)),
            el("td", None, when(b.get("open_until")) if b.get("open_until") else "-"),
            el("td", {"class": "msg"}, b.get("reason") or ""),
        )
        for b in items
    ]
    return el(
        "table",
        {"class": "breakers"},
        el("caption", None, "Circuit breakers"),
        _th("breaker", "state", "failures", "open until", "why"),
        el("tbody", None, rows),
    )


def _quiet(row: Row) -> bool:
    """A component that only followed the daemon up and down (nothing of its own to show)."""
    return (
        row.kind == "component"
        and not row.marks
        and all(s.state in ("running", "down") for s in row.segments)
    )


def _timeline(health: Health) -> Html:
    shown = [row for row in health.rows if not _quiet(row)]
    quiet = [row.name for row in health.rows if _quiet(row)]
    bars = [
        el(
            "li",
            {"class": f"tl-row {row.kind}"},
            el("span", {"class": "tl-name"}, row.name if row.kind != "daemon" else "daemon"),
            state_bar(row, health.start, health.end),
        )
        for row in shown
    ]
    changes: list[tuple[float, Html]] = []
    for row in shown:
        for s in row.segments[1:]:
            what = f" {row.name}: {s.state}" + (f" ({s.reason})" if s.reason else "")
            changes.append((s.start, join([when_epoch(s.start), what])))
        for at, what in row.marks:
            changes.append((at, join([when_epoch(at), f" {row.name}: {what}"])))
    changes.sort(key=lambda c: c[0], reverse=True)
    legend = el(
        "p",
        {"class": "legend"},
        [
            el("span", {"class": f"key {kind}"}, state)
            for state, kind in STATE_CLASS.items()
            if state not in ("down", "running")
        ],
        el("span", {"class": "key muted"}, "down"),
        el("span", {"class": "key mark"}, "restart"),
    )
    note = ""
    if quiet:
        note = el(
            "p",
            {"class": "meta"},
            f"{len(quiet)} other components ran whenever the daemon did: ",
            ", ".join(quiet),
            ".",
        )
    return el(
        "div",
        {"class": "timeline"},
        el("h3", None, "The last 24 hours"),
        legend,
        el("ul", {"class": "tl"}, bars),
        note,
        el(
            "details",
            {"class": "tl-detail"},
            el("summary", None, f"What changed ({len(changes)})"),
            el("ul", None, [el("li", None, c) for _, c in changes[:200]]),
        ),
    )


def when_epoch(seconds: float) -> Html:
    from datetime import UTC, datetime

    from vigil.clock import isoformat

    return when(isoformat(datetime.fromtimestamp(seconds, UTC)))


def health_section(health: Health) -> Html:
    report = health.report
    status = str(report.get("status") or ("ready" if report.get("ready") else "not ready"))
    reasons = report.get("reasons") or []
    ready = el(
        "div",
        {"class": "readiness"},
        el("p", None, "Readiness: ", badge(status, "ok" if report.get("ready") else "bad")),
        el("ul", {"class": "reasons"}, [el("li", None, r) for r in reasons]) if reasons else "",
    )
    probes = report.get("probes") or []
    probe_table = ""
    if probes:
        probe_table = el(
            "table",
            {"class": "probes"},
            el("caption", None, "Probes"),
            _th("probe", "state", "detail"),
            el(
                "tbody",
                None,
                [
                    el(
                        "tr",
                        None,
                        el("th", {"scope": "row"}, p.get("name")),
                        el("td", None, badge(str(p.get("status") or "?"))),
                        el("td", {"class": "msg"}, p.get("last_error") or p.get("target") or ""),
                    )
                    for p in probes
                ],
            ),
        )
    return join(
        [
            ready,
            el("div", {"class": "scroll"}, _components(report.get("components") or [], health.end)),
            el("div", {"class": "scroll"}, _breakers(report.get("breakers") or [])),
            probe_table,
            _timeline(health),
        ]
    )
