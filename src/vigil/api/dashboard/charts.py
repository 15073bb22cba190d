"""Charts as SVG drawn on the server: latency lines (p50/p95/p99 over time) and state bars.

No script and no library: the browser draws what the page says, with JavaScript off too. Every
chart has a text alternative (``aria-label`` and a table or list in a ``<details>``), and the
colours are never the only signal (line styles differ, states are named in titles and text).
No inline ``style``: the Content-Security-Policy forbids it, so looks come from classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from vigil.api.dashboard.html import Html, el, join
from vigil.api.dashboard.timeline import Row

WIDTH, HEIGHT = 600, 180
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 8, 22
PERCENTILES = (("p50", 50), ("p95", 95), ("p99", 99))


@dataclass(frozen=True, slots=True)
class Point:
    """One bucket of a timer series."""

    start: int  # unix seconds
    count: int
    failures: int
    p50: float | None
    p95: float | None
    p99: float | None


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    return f"{seconds:.3g} s"


def span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%H:%M")


def latency_chart(title: str, points: Sequence[Point], start: int, end: int) -> Html:
    """p50, p95 and p99 over time on a log scale, with the success rate per bucket below."""
    values = [v for p in points for v in (p.p50, p.p95, p.p99) if v]
    if not values:
        return el("p", {"class": "empty"}, f"No {title.lower()} recorded in this window.")
    low = 10 ** math.floor(math.log10(min(values)))
    high = 10 ** math.ceil(math.log10(max(values)))
    if high <= low:
        high = low * 10
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: float) -> float:
        return LEFT + (moment - start) / max(end - start, 1) * plot_w

    def y(value: float) -> float:
        share = (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))
        return TOP + plot_h * (1 - share)

    step = (end - start) / max(len(points), 1)
    parts: list[Html] = []
    decade = low
    while decade <= high * 1.0001:
        parts.append(
            el(
                "line",
                {
                    "class": "grid",
                    "x1": LEFT,
                    "x2": WIDTH - RIGHT,
                    "y1": f"{y(decade):.1f}",
                    "y2": f"{y(decade):.1f}",
                },
            )
        )
        parts.append(
            el(
                "text",
                {"class": "axis", "x": LEFT - 4, "y": f"{y(decade) + 4:.1f}", "text-anchor": "end"},
                duration(decade),
            )
        )
        decade *= 10
    for i in range(5):
        moment = start + (end - start) * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            el(
                "text",
                {
                    "class": "axis",
                    "x": f"{x(moment):.1f}",
                    "y": HEIGHT - 6,
                    "text-anchor": anchor,
                },
                _clock(moment),
            )
        )
    for name, _ in PERCENTILES:
        runs: list[list[str]] = [[]]
        for p in points:
            value = getattr(p, name)
            if not p.count or not value:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append(f"{x(p.start + step / 2):.1f},{y(value):.1f}")
        for run in runs:
            if len(run) == 1:
                cx, cy = run[0].split(",")
                parts.append(el("circle", {"class": f"dot {name}", "cx": cx, "cy": cy, "r": 2.5}))
            elif run:
                parts.append(el("polyline", {"class": f"line {name}", "points": " ".join(run)}))
    total = sum(p.count for p in points)
    failed = sum(p.failures for p in points)
    label = f"{title}: {total} calls, " + (
        f"{(1 - failed / total) * 100:.1f}% succeeded" if total else "none"
    )
    svg = el(
        "svg",
        {
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "class": "chart",
            "role": "img",
            "aria-label": label,
            "preserveAspectRatio": "xMidYMid meet",
        },
        el("title", None, label),
        parts,
    )
    return join([svg, _success_strip(points, start, end), _table(title, points)])


def _success_strip(points: Sequence[Point], start: int, end: int) -> Html:
    cells = []
    width = WIDTH - LEFT - RIGHT
    step = width / max(len(points), 1)
    for i, p in enumerate(points):
        if not p.count:
            continue
        rate = 1 - p.failures / p.count
        kind = "ok" if rate >= 0.999 else ("warn" if rate >= 0.95 else "bad")
        cells.append(
            el(
                "rect",
                {
                    "class": f"rate {kind}",
                    "x": f"{LEFT + i * step:.1f}",
                    "y": 0,
                    "width": f"{max(step - 1, 1):.1f}",
                    "height": 8,
                },
                el("title", None, f"{_clock(p.start)}: {rate * 100:.1f}% of {p.count} succeeded"),
            )
        )
    return el(
        "svg",
        {
            "viewBox": f"0 0 {WIDTH} 8",
            "class": "strip",
            "aria-hidden": "true",
            "preserveAspectRatio": "none",
        },
        cells,
    )


def _table(title: str, points: Sequence[Point]) -> Html:
    rows = [
        el(
            "tr",
            None,
            el("td", None, _clock(p.start)),
            el("td", {"class": "num"}, p.count),
            el("td", {"class": "num"}, f"{(1 - p.failures / p.count) * 100:.1f}%"),
            el("td", {"class": "num"}, duration(p.p50)),
            el("td", {"class": "num"}, duration(p.p95)),
            el("td", {"class": "num"}, duration(p.p99)),
        )
        for p in points
        if p.count
    ]
    head = el(
        "tr",
        None,
        [
            el("th", {"scope": "col"}, h)
            for h in ("from (UTC)", "calls", "success", "p50", "p95", "p99")
        ],
    )
    return el(
        "details",
        {"class": "data"},
        el("summary", None, f"{title}: the numbers"),
        el("table", None, el("thead", None, head), el("tbody", None, rows)),
    )


STATE_CLASS = {
    "closed": "ok",
    "running": "ok",
    "half-open": "warn",
    "open": "bad",
    "isolated": "bad",
    "down": "muted",
}


def state_bar(row: Row, start: float, end: float) -> Html:
    """One row of the timeline: a bar of states, ticks for restarts."""
    width = 1000.0

    def x(moment: float) -> float:
        return (moment - start) / max(end - start, 1) * width

    parts = []
    for s in row.segments:
        what = f"{row.name}: {s.state} {_clock(s.start)}-{_clock(s.end)} ({span(s.end - s.start)})"
        if s.reason:
            what += f": {s.reason}"
        parts.append(
            el(
                "rect",
                {
                    "class": f"seg {STATE_CLASS.get(s.state, 'info')}",
                    "x": f"{x(s.start):.1f}",
                    "y": 2,
                    "width": f"{max(x(s.end) - x(s.start), 1.5):.1f}",
                    "height": 16,
                },
                el("title", None, what),
            )
        )
    for moment, what in row.marks:
        parts.append(
            el(
                "rect",
                {"class": "mark", "x": f"{x(moment) - 1.5:.1f}", "y": 0, "width": 3, "height": 20},
                el("title", None, f"{_clock(moment)} {what}"),
            )
        )
    spent = row.time_in()
    summary = ", ".join(f"{state} {span(sec)}" for state, sec in spent.items())
    if row.marks:
        summary += f", {len(row.marks)} restart{'s' if len(row.marks) != 1 else ''}"
    return el(
        "svg",
        {
            "viewBox": f"0 0 {int(width)} 20",
            "class": "bar",
            "role": "img",
            "aria-label": f"{row.name}: {summary}",
            "preserveAspectRatio": "none",
        },
        parts,
    )
