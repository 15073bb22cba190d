"""The report behind ``vigil stats``: per metric and labels, the last hour (the current minute and
the 59 before it) against the 24 hours before that hour: count, rate per minute, success rate,
p50/p95/p99, min/max/mean, and the trend between the two."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vigil.clock import isoformat
from vigil.reliability.metrics_store import load_rollups
from vigil.reliability.metrics_window import (
    COUNTER,
    DAY,
    GAUGE,
    HOUR,
    MINUTE,
    TIMER,
    Rollup,
    SeriesKey,
    Window,
)
from vigil.storage import Database

if TYPE_CHECKING:
    from vigil.reliability.resources import ResourceSample


def _iso(seconds: int) -> str:
    return isoformat(datetime.fromtimestamp(seconds, UTC))


def _round(value: float | None, digits: int = 6, *, significant: int = 0) -> float | None:
    """``value`` to ``digits`` decimals (or to ``significant`` figures); None if not finite."""
    if value is None or not math.isfinite(value):
        return None
    if significant and value:
        digits = significant - 1 - math.floor(math.log10(abs(value)))
    return round(value, digits)


def summarize(window: Window | None, minutes: int, kind: str) -> dict[str, Any]:
    """One window of one series, in the report's stable shape (seconds; rates per minute)."""
    w = window or Window(kind)
    timer = w.kind == TIMER and w.count > 0
    has_range = w.count > 0 and w.kind != COUNTER
    return {
        "count": w.count,
        "failures": w.failures if w.kind == TIMER else None,
        "rate_per_min": _round(w.count / minutes, significant=4) if w.kind != GAUGE else None,
        "success_rate": _round(1 - w.failures / w.count, 5) if timer else None,
        "p50": _round(w.percentile(50)) if timer else None,
        "p95": _round(w.percentile(95)) if timer else None,
        "p99": _round(w.percentile(99)) if timer else None,
        "min": _round(w.min) if has_range else None,
        "max": _round(w.max) if has_range else None,
        "mean": _round(w.sum / w.count) if has_range else None,
        "last": _round(w.last) if w.kind == GAUGE and w.count else None,
    }


def _change_pct(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round((now - before) / before * 100, 1)


def trend(kind: str, hour: dict[str, Any], day: dict[str, Any]) -> dict[str, Any]:
    """How the last hour compares with the day before it, as numbers and one line of text."""
    rate = None
    if kind != GAUGE:  # from the counts: the rounded rates would skew small changes
        rate = _change_pct(hour["count"] / (HOUR // MINUTE), day["count"] / (DAY // MINUTE))
    p95 = _change_pct(hour["p95"], day["p95"])
    mean = _change_pct(hour["mean"], day["mean"])
    success = None
    if hour["success_rate"] is not None and day["success_rate"] is not None:
        success = round((hour["success_rate"] - day["success_rate"]) * 100, 2)
    parts: list[str] = []
    if not hour["count"]:
        parts.append("idle this hour")
    elif not day["count"]:
        parts.append("new: nothing in the previous day")
    elif kind == TIMER:
        if p95 is not None:
            parts.append(f"p95 {p95:+.0f}% vs day")
        parts.append(f"success {hour['success_rate'] * 100:.1f}% ({success or 0.0:+.1f} pts)")
    elif kind == GAUGE:
        if mean is not None:
            parts.append(f"mean {mean:+.0f}% vs day")
    elif rate is not None:
        parts.append(f"rate {rate:+.0f}% vs day")
    return {
        "rate_change_pct": rate,
        "p95_change_pct": p95,
        "mean_change_pct": mean,
        "success_change_pts": success,
        "summary": ", ".join(parts),
    }


def windows(now: datetime) -> tuple[int, int, int]:
    """``(day_start, hour_start, end)``: the previous day is ``[day_start, hour_start)``, the
    last hour ``[hour_start, end)``; ``end`` is the end of the current minute."""
    end = int(now.timestamp()) // MINUTE * MINUTE + MINUTE
    hour_start = end - HOUR
    return hour_start - DAY, hour_start, end


def report(
    db: Database | None,
    now: datetime,
    *,
    unflushed: Sequence[Rollup] = (),
    resources: ResourceSample | None = None,
) -> dict[str, Any]:
    """The ``vigil stats`` report: stored rows (plus ``unflushed`` ones) around ``now``.

    ``db=None`` (no database yet) gives the empty report. ``resources`` overrides the stored
    sample (the daemon passes its own latest one).
    """
    day_start, hour_start, end = windows(now)
    rows = load_rollups(db, day_start, end) if db is not None else []
    rows += [row for row in unflushed if day_start <= row.start < end]
    merged: dict[tuple[SeriesKey, bool], Window] = {}
    kinds: dict[SeriesKey, str] = {}
    for row in sorted(rows, key=lambda r: r.start):
        key = (row.name, row.labels)
        slot = (key, row.start >= hour_start)
        present = merged.get(slot)
        if present is None or present.kind != row.window.kind:
            merged[slot] = row.window.copy()
        else:
            present.merge(row.window)
        kinds[key] = row.window.kind
    metrics = []
    for key in sorted(kinds):
        hour = summarize(merged.get((key, True)), HOUR // MINUTE, kinds[key])
        day = summarize(merged.get((key, False)), DAY // MINUTE, kinds[key])
        metrics.append(
            {
                "name": key[0],
                "labels": dict(key[1]),
                "kind": kinds[key],
                "last_hour": hour,
                "previous_day": day,
                "trend": trend(kinds[key], hour, day),
            }
        )
    sample = resources.to_dict() if resources is not None else None
    if sample is None and db is not None:
        stored = db.query_one("SELECT sample FROM resource_samples WHERE id = 1")
        sample = json.loads(stored[0]) if stored is not None else None
    if sample is not None:
        age = (now - datetime.fromisoformat(sample["at"].replace("Z", "+00:00"))).total_seconds()
        sample = {**sample, "age_s": round(max(age, 0.0), 1), "daemon_running": None}
    return {
        "generated": isoformat(now),
        "window": {
            "last_hour": {"start": _iso(hour_start), "end": _iso(end), "minutes": HOUR // MINUTE},
            "previous_day": {
                "start": _iso(day_start),
                "end": _iso(hour_start),
                "minutes": DAY // MINUTE,
            },
        },
        "metrics": metrics,
        "resources": sample,
    }
