"""Latency charts, knowledge search and entries, and ``why``."""

from __future__ import annotations

from typing import Any

from vigil.api.dashboard.charts import duration, latency_chart
from vigil.api.dashboard.data import RANGES, Latency
from vigil.api.dashboard.html import Html, badge, bold_marks, el, join, pre_json, when


def latency_section(found: Latency) -> Html:
    ranges = el(
        "p",
        {"class": "ranges"},
        "Window: ",
        join(
            el("a", {"href": f"/?range={key}#latency", "aria-current": "true"}, key)
            if key == found.range
            else el("a", {"href": f"/?range={key}#latency"}, key)
            for key in RANGES
        ),
    )
    legend = el(
        "p",
        {"class": "legend"},
        el("span", {"class": "key p50"}, "p50"),
        el("span", {"class": "key p95"}, "p95"),
        el("span", {"class": "key p99"}, "p99"),
        " · the strip under each chart: share of calls that succeeded",
    )
    charts = []
    for series in found.series:
        total = sum(p.count for p in series.points)
        failed = sum(p.failures for p in series.points)
        p95 = max((p.p95 or 0.0 for p in series.points), default=0.0)
        head = series.title
        if total:
            head += (
                f": {total} calls, {(1 - failed / total) * 100:.1f}% ok, worst p95 {duration(p95)}"
            )
        charts.append(
            el(
                "figure",
                {"class": "latency"},
                el("figcaption", None, head),
                latency_chart(series.title, series.points, found.start, found.end),
            )
        )
    return join([ranges, legend, join(charts)])


# -- knowledge ------------------------------------------------------------------------------------


def search_form(query: str) -> Html:
    return el(
        "form",
        {"method": "get", "action": "/kb", "role": "search", "class": "filters"},
        el("label", {"for": "kb-q"}, "Search knowledge"),
        el(
            "input",
            {
                "id": "kb-q",
                "name": "q",
                "value": query,
                "placeholder": "error text, words, meaning",
            },
        ),
        el("button", {"type": "submit"}, "Search"),
    )


def search_results(query: str, hits: list[dict[str, Any]], error: str | None) -> Html:
    if error:
        return el("p", {"class": "error", "role": "alert"}, error)
    if not query:
        return Html("")
    if not hits:
        return el("p", {"class": "empty"}, f"Nothing found for “{query}”.")
    return el(
        "ol",
        {"class": "hits"},
        [
            el(
                "li",
                None,
                el("a", {"href": f"/kb/{h['id']}"}, h.get("title")),
                " ",
                badge(str(h.get("kind")), "info"),
                " ",
                badge(str(h.get("status"))),
                f" score {float(h.get('score') or 0):.2f}, found by {h.get('match', 'words')}",
                el("p", {"class": "snippet"}, bold_marks(str(h.get("snippet") or ""))),
            )
            for h in hits
        ],
    )


def _provenance(value: Any) -> Html:
    if isinstance(value, dict) and value:
        return el(
            "dl",
            {"class": "provenance"},
            [join([el("dt", None, k), el("dd", None, _provenance(v))]) for k, v in value.items()],
        )
    if isinstance(value, list) and value and all(not isinstance(v, dict | list) for v in value):
        return el("span", None, ", ".join(str(v) for v in value))
    if isinstance(value, dict | list):
        return pre_json(value)
    return el("span", None, "" if value is None else str(value))


def entry_view(entry: dict[str, Any]) -> Html:
    from vigil.api.dashboard.views_events import _diff

    facts = [
        ("kind", entry.get("kind")),
        ("status", entry.get("status")),
        ("confidence", f"{float(entry.get('confidence') or 0):.2f}"),
        ("seen", entry.get("seen")),
        ("tags", ", ".join(entry.get("tags") or []) or "-"),
        ("fingerprints", ", ".join(entry.get("fingerprints") or []) or "-"),
        ("created", entry.get("created")),
        ("updated", entry.get("updated")),
    ]
    return join(
        [
            el("h2", None, entry.get("title")),
            el("p", {"class": "meta"}, el("code", None, entry.get("id"))),
            el(
                "dl",
                {"class": "facts"},
                [join([el("dt", None, k), el("dd", None, v)]) for k, v in facts],
            ),
            el("h3", None, "Body"),
            el("div", {"class": "prose"}, entry.get("body") or "(empty)"),
            join([el("h3", None, "Diff"), _diff(entry["diff"])]) if entry.get("diff") else "",
            el("h3", None, "Provenance"),
            _provenance(entry.get("provenance") or {}),
        ]
    )


# -- why ------------------------------------------------------------------------------------------


def _receipt(r: dict[str, Any]) -> Html:
    head = f"{r.get('kind')} {r.get('id')} · {r.get('provider')}"
    if r.get("model") and r.get("model") != r.get("provider"):
        head += f" ({r.get('model')})"
    head += f" · {float(r.get('elapsed_ms') or 0):.0f} ms"
    skipped = [
        el("li", None, f"skipped {s.get('provider')}: {s.get('reason')}")
        for s in r.get("skipped") or []
    ]
    calls = [
        el(
            "li",
            None,
            el("code", None, f"{c.get('name')}({c.get('arguments', {})})"),
            " ok" if c.get("ok", True) else " error",
        )
        for c in r.get("tool_calls") or []
    ]
    return el(
        "article",
        {"class": "card"},
        el("h3", None, head),
        el("ul", None, skipped + calls) if skipped or calls else "",
        el("h4", None, "Based on"),
        pre_json(r.get("inputs") or {}),
        el("h4", None, "Outcome"),
        pre_json(r.get("outcome") or {}),
    )


def _decision(d: dict[str, Any]) -> Html:
    data = d.get("data") or {}
    kind = str(d.get("type", "")).rsplit(".", 1)[-1]
    trace = [
        el(
            "tr",
            None,
            el("th", {"scope": "row"}, t.get("gate")),
            el("td", None, badge(str(t.get("outcome")), "info")),
            el("td", None, t.get("reason")),
        )
        for t in data.get("trace") or []
    ]
    parts = data.get("score_parts") or {}
    return el(
        "article",
        {"class": "card"},
        el(
            "h3",
            None,
            badge(kind),
            f" at {str(d.get('time'))[:19].replace('T', ' ')} UTC by the {data.get('gate')} gate",
        ),
        el("p", None, data.get("reason"), f" (score {data.get('score')})"),
        el("p", {"class": "meta"}, ", ".join(f"{k} {float(v):+.2f}" for k, v in parts.items()))
        if parts
        else "",
        el("table", None, el("tbody", None, trace)) if trace else "",
    )


def why_view(identifier: str, kind: str, body: dict[str, Any]) -> Html:
    out: list[Html] = [el("h2", None, "Why ", el("code", None, identifier))]
    if kind == "notification":
        request = body.get("request") or {}
        cause = body.get("cause")
        out.append(
            el(
                "p",
                None,
                badge(str(request.get("severity"))),
                " ",
                el("strong", None, request.get("title")),
                f" asked by {request.get('source')} at ",
                when(request.get("time"), date=True),
            )
        )
        if cause:
            out.append(
                el(
                    "p",
                    None,
                    "Because of ",
                    el("code", None, cause.get("type")),
                    " ",
                    el("a", {"href": f"/why/{cause.get('id')}"}, cause.get("id")),
                )
            )
        decisions = body.get("decisions") or []
        out.append(
            join(_decision(d) for d in decisions)
            if decisions
            else el("p", None, "Not decided yet.")
        )
    elif kind == "proposal":
        proposal = body.get("proposal") or {}
        out.append(
            el(
                "p",
                None,
                badge(str(proposal.get("status"))),
                " ",
                el("code", None, proposal.get("effect")),
            )
        )
        steps = [
            el(
                "li",
                None,
                el("strong", None, s.get("step")),
                " ",
                el("code", None, s.get("id")),
                " ",
                when(s.get("time"), date=True) if s.get("time") else "",
                " ",
                s.get("summary") or "",
            )
            for s in body.get("chain") or []
        ]
        out.append(el("ol", {"class": "chain"}, steps))
    else:
        event = body.get("event")
        if event:
            data = event.get("data") or {}
            out.append(
                el(
                    "p",
                    None,
                    el("code", None, event.get("type")),
                    " ",
                    el("code", None, event.get("subject") or data.get("command")),
                    " at ",
                    when(event.get("time"), date=True),
                    f", exit {data['exit_code']}" if "exit_code" in data else "",
                )
            )
        out.append(join(_receipt(r) for r in body.get("receipts") or []))
    out.append(
        el("details", None, el("summary", None, "as JSON (vigil why --json)"), pre_json(body))
    )
    return join(out)
