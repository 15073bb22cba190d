"""What each part of the dashboard reads, gathered on the database's thread (synchronous).

Every read is bounded (a page never reads more than a few hundred events, whatever the log
holds), so ``/`` answers in the same time with 10 000 events stored as with 10.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from vigil.api.dashboard import timeline
from vigil.api.dashboard.charts import Point
from vigil.api.dashboard.sources import Sources
from vigil.clock import isoformat, parse_iso
from vigil.events import catalog
from vigil.events.model import Event
from vigil.events.table import COLUMNS, glob_clause
from vigil.notify.inbox import DigestLine, digest, inbox
from vigil.reliability.metrics import MINUTE, TIMER, Window

EVENTS_SHOWN = 50
TRIAGE_SHOWN = 4
INBOX_SHOWN = 25
DECIDED_SHOWN = 8
TIMELINE_LIMIT = 5000
TEXT_SCAN = 20_000  # a text filter looks at most this far back in the log


def _event(row: Sequence[Any]) -> Event:
    return Event(
        seq=row[0],
        id=row[1],
        type=row[2],
        time=row[3],
        source=row[4],
        subject=row[5],
        data=json.loads(row[6]),
        fingerprint=row[7],
        correlation_id=row[8],
        causation_id=row[9],
    )


def events(sources: Sources, pattern: str, text: str, limit: int = EVENTS_SHOWN) -> list[Event]:
    """The newest events whose type matches ``pattern`` (a glob, or all) and whose type,
    subject, source or data hold ``text`` (any case), newest first."""
    where, params = glob_clause([pattern] if pattern.strip() else [])
    values: list[Any] = [*params]
    if text.strip():
        where += (
            " AND seq > (SELECT COALESCE(MAX(seq), 0) FROM events) - ?"
            " AND instr(lower(type || ' ' || COALESCE(subject, '') || ' ' || source || ' '"
            " || data), ?) > 0"
        )
        values += [TEXT_SCAN, text.strip().lower()]
    rows = sources.db.query(
        f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY seq DESC LIMIT ?", [*values, limit]
    )
    return [_event(r) for r in rows]


@dataclass(slots=True)
class TriageCard:
    triage: Event
    failure: Event | None
    enrichment: Event | None


def triage_cards(sources: Sources, limit: int = TRIAGE_SHOWN) -> list[TriageCard]:
    """The newest diagnoses, each with the failure it explains and its enrichment, if any."""
    found = sources.log.find(patterns=[catalog.TRIAGE_COMPLETED], limit=limit)
    return [_card(sources, t) for t in found]


def triage_card(sources: Sources, event_id: str) -> TriageCard:
    """One diagnosis by its id or its failure's id (NotFoundError otherwise)."""
    from vigil.errors import NotFoundError

    event = sources.log.get(event_id)
    if event.type != catalog.TRIAGE_COMPLETED:
        found = sources.log.find(
            patterns=[catalog.TRIAGE_COMPLETED], causation_id=event.id, limit=1
        )
        if not found:
            raise NotFoundError(f"no diagnosis of {event_id}")
        event = found[0]
    return _card(sources, event)


def _card(sources: Sources, triage: Event) -> TriageCard:
    failure = None
    if triage.causation_id:
        try:
            failure = sources.log.get(triage.causation_id)
        except Exception:  # noqa: BLE001 - a missing failure is shown as missing
            failure = None
    enriched = sources.log.caused_by([triage.id], [catalog.TRIAGE_ENRICHED])
    return TriageCard(triage, failure, enriched[-1] if enriched else None)


@dataclass(slots=True)
class Health:
    report: dict[str, Any]
    rows: list[timeline.Row]
    start: float
    end: float


def health_from(sources: Sources, report: dict[str, Any], hours: int = 24) -> Health:
    """The health report now (``sources.health()``, read on the event loop), and the breakers'
    and components' rows over ``hours``."""
    now = sources.clock.now()
    start = now - timedelta(hours=hours)
    changes = sources.log.find(
        patterns=timeline.PATTERNS,
        since=isoformat(start),
        limit=TIMELINE_LIMIT,
        newest_first=False,
    )
    s, e = start.timestamp(), now.timestamp()
    rows = timeline.component_rows(changes, report.get("components") or [], s, e)
    rows += timeline.breaker_rows(changes, report.get("breakers") or [], s, e)
    return Health(report, rows, s, e)


@dataclass(slots=True)
class Proposals:
    pending: list[dict[str, Any]]
    decided: list[dict[str, Any]]


def proposals(sources: Sources) -> Proposals:
    pending = sources.proposals(False)
    every = sources.proposals(True)
    decided = [p for p in every if p["status"] != "pending"][:DECIDED_SHOWN]
    return Proposals(pending, decided)


@dataclass(slots=True)
class Inbox:
    entries: list[dict[str, Any]]  # newest first
    digest: list[DigestLine]
    spoken: set[str] = field(default_factory=set)  # request ids with a WAV kept


def notifications(sources: Sources, limit: int = INBOX_SHOWN) -> Inbox:
    entries = inbox(sources.log, limit=limit)
    spoken: set[str] = set()
    folder = sources.notifications_dir
    if folder is not None:
        spoken = {e["id"] for e in entries if (folder / f"{e['id']}.wav").is_file()}
    return Inbox(list(reversed(entries)), digest(entries), spoken)


# -- latency ----------------------------------------------------------------------------------

RANGES = {"1h": (3600, MINUTE), "24h": (86400, 30 * MINUTE)}


@dataclass(slots=True)
class Series:
    title: str
    points: list[Point]


@dataclass(slots=True)
class Latency:
    start: int
    end: int
    range: str
    series: list[Series]


def _wanted(name: str, labels: dict[str, str]) -> str | None:
    """Which chart a timer series belongs to (None: not charted; triage comes from events)."""
    if name == "bus_publish_seconds":
        return "Publish"
    dependency = labels.get("dependency", "")
    if name == "dependency_call_seconds" and dependency.startswith("provider:"):
        return f"Provider {dependency.removeprefix('provider:')}"
    return None


def latency(sources: Sources, which: str = "24h") -> Latency:
    """p50/p95/p99 and success per bucket for triage, publishing and each provider."""
    length, bucket = RANGES.get(which, RANGES["24h"])
    now = int(sources.clock.now().timestamp())
    end = now // bucket * bucket + bucket
    start = end - length
    merged: dict[str, dict[int, Window]] = {"Publish": {}}
    for row in sources.rollups(start, end):
        if row.window.kind != TIMER:
            continue
        title = _wanted(row.name, dict(row.labels))
        if title is None:
            continue
        slot = (row.start - start) // bucket
        windows = merged.setdefault(title, {})
        if slot not in windows:
            windows[slot] = row.window.copy()
        else:
            windows[slot].merge(row.window)
    series = [Series("Triage", _triage_points(sources, start, length, bucket))]
    for title, windows in merged.items():
        points = []
        for slot in range(length // bucket):
            w = windows.get(slot)
            if w is None or not w.count:
                points.append(Point(start + slot * bucket, 0, 0, None, None, None))
                continue
            points.append(
                Point(
                    start + slot * bucket,
                    w.count,
                    w.failures,
                    w.percentile(50),
                    w.percentile(95),
                    w.percentile(99),
                )
            )
        series.append(Series(title, points))
    return Latency(start, end, which if which in RANGES else "24h", series)


def _triage_points(sources: Sources, start: int, length: int, bucket: int) -> list[Point]:
    """Triage's own timing from every ``triage.completed`` in the window (the CLI's inline
    diagnoses too, which no daemon metric sees): exact percentiles per bucket."""
    from datetime import UTC, datetime

    since = isoformat(datetime.fromtimestamp(start, UTC))
    rows = sources.db.query(
        "SELECT time, json_extract(data, '$.elapsed_ms') FROM events"
        " WHERE type = ? AND time >= ? ORDER BY seq DESC LIMIT ?",
        (catalog.TRIAGE_COMPLETED, since, TIMELINE_LIMIT),
    )
    slots: dict[int, list[float]] = {}
    for time, elapsed in rows:
        if not isinstance(elapsed, int | float):
            continue
        slot = (int(parse_iso(time).timestamp()) - start) // bucket
        if 0 <= slot < length // bucket:
            slots.setdefault(slot, []).append(float(elapsed) / 1000)
    points = []
    for slot in range(length // bucket):
        values = sorted(slots.get(slot, []))
        moment = start + slot * bucket
        if not values:
            points.append(Point(moment, 0, 0, None, None, None))
            continue
        points.append(Point(moment, len(values), 0, *(_exact(values, q) for q in (50, 95, 99))))
    return points


def _exact(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of sorted ``values``."""
    rank = max(0, min(len(values) - 1, math.ceil(q / 100 * len(values)) - 1))
    return values[rank]
