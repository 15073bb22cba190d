"""Metrics: timings, counters and gauges kept in memory, rolled up per minute in SQLite.

Recording is the hot path and costs a lock, one dict lookup and a few adds (about 1 µs):

- ``observe(name, seconds, ok=..., **labels)`` records one timed call: count, failures, exact
  sum/min/max and a count in one of :data:`BOUNDS`' fixed, log-spaced latency buckets
  (0.1 ms ... 60 s, six per decade, plus an overflow bucket). Percentiles are estimated from the
  buckets (always inside the bucket that holds the exact one), and buckets add up, so minutes
  merge into hours and windows without keeping samples.
- ``count(name, n, **labels)`` adds to a plain counter; ``gauge(name, value, **labels)`` sets a
  level (each minute keeps samples, sum, min, max and the last value).

Label values must come from small, fixed sets (consumer, provider, dependency names), never ids:
every distinct label set is a series, and past :data:`MAX_SERIES` new ones are folded into one
``series="overflow"`` series per name.

Storage (migration namespace ``metrics``): ``metric_rollups`` holds one row per
(period, start, name, labels) with count, failures, sum, min, max, last and the bucket counts
(sparse ``index:count`` text; the bucket layout is part of the schema, so changing
:data:`BOUNDS` needs a migration). ``start`` is unix seconds (UTC) at the start of the period.
:meth:`Metrics.flush` merges everything not yet written into its minute rows in one transaction
(the daemon calls it every minute and at shutdown; on failure the data stays in memory for the
next try). ``resource_samples`` keeps the daemon's last resource sample (one row).

Retention (:func:`compact`, run hourly): minute rows are kept 48 hours, then merged into hourly
rows (period 3600), which are kept 30 days.

Queries (:func:`report`): per metric and labels, the last hour (the current minute and the 59
before it) against the 24 hours before that hour: count, rate per minute, success rate,
p50/p95/p99, min/max/mean, and the trend between the two.

This module is over 400 lines because the registry, the rows it writes and the queries that read
them share one row format and bucket layout; split, each part would import the others' privates.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from vigil.clock import Clock, isoformat
from vigil.errors import StorageError
from vigil.storage import Database, apply_migrations, sql

if TYPE_CHECKING:
    import sqlite3

    from vigil.reliability.resources import ResourceSample, ResourceSampler

log = logging.getLogger("vigil.metrics")
P = ParamSpec("P")
T = TypeVar("T")

TIMER, COUNTER, GAUGE = "timer", "counter", "gauge"
MINUTE, HOUR, DAY = 60, 3600, 86400
MINUTE_RETENTION_S = 48 * HOUR
HOUR_RETENTION_S = 30 * DAY
MAX_SERIES = 1000
MAX_PENDING_MINUTES = 24 * 60  # unflushed minutes kept if the database stays unwritable

_MANTISSAS = ("1.0", "1.5", "2.2", "3.2", "4.6", "6.8")  # 10 ** (k / 6), rounded
BOUNDS: tuple[float, ...] = (
    *(float(f"{m}e{exponent}") for exponent in range(-4, 1) for m in _MANTISSAS),
    *(10.0, 15.0, 22.0, 32.0, 46.0, 60.0),
)
"""Upper bounds (seconds, inclusive) of the latency buckets; one more bucket holds the rest."""
SLOTS = len(BOUNDS) + 1

Labels = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, Labels]  # (name, labels sorted by label name)

MIGRATIONS = [
    sql(
        """
        CREATE TABLE metric_rollups (
            period INTEGER NOT NULL,
            start INTEGER NOT NULL,
            name TEXT NOT NULL,
            labels TEXT NOT NULL,
            kind TEXT NOT NULL,
            count INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            sum REAL NOT NULL,
            min REAL,
            max REAL,
            last REAL,
            buckets TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (period, start, name, labels)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX metric_rollups_start ON metric_rollups (start)",
        """
        CREATE TABLE resource_samples (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            at TEXT NOT NULL,
            sample TEXT NOT NULL
        )
        """,
    ),
]


def ensure_schema(db: Database) -> None:
    """Create or upgrade the ``metrics`` tables."""
    apply_migrations(db, "metrics", MIGRATIONS)


class Window:
    """Everything recorded for one series over one period; windows merge by adding up."""

    __slots__ = ("buckets", "count", "failures", "kind", "last", "max", "min", "sum")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.buckets: list[int] = [0] * SLOTS if kind == TIMER else []
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.failures = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.last = 0.0
        if self.buckets:
            self.buckets = [0] * SLOTS

    def copy(self) -> Window:
        twin = Window(self.kind)
        twin.merge(self)
        return twin

    def merge(self, newer: Window) -> None:
        """Add ``newer`` (recorded after this window) into this one."""
        if not newer.count:
            return
        self.count += newer.count
        self.failures += newer.failures
        self.sum += newer.sum
        self.min = min(self.min, newer.min)
        self.max = max(self.max, newer.max)
        self.last = newer.last
        if newer.buckets:
            if not self.buckets:
                self.buckets = [0] * SLOTS
            self.buckets = [a + b for a, b in zip(self.buckets, newer.buckets, strict=True)]

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0..100) estimated from the buckets (timers only)."""
        return bucket_percentile(self.buckets, q, self.min, self.max)


def bucket_percentile(buckets: Sequence[int], q: float, low: float, high: float) -> float | None:
    """The ``q``-th percentile of bucketed values whose exact min and max are ``low``/``high``.

    Finds the bucket holding the nearest-rank value and interpolates linearly inside it, clamped
    to the exact min and max, so the estimate always lies in the bucket of the exact percentile.
    """
    total = sum(buckets)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total / 100))
    seen = 0
    for index, in_bucket in enumerate(buckets):
        if in_bucket and seen + in_bucket >= rank:
            lower = BOUNDS[index - 1] if index > 0 else low
            upper = BOUNDS[index] if index < len(BOUNDS) else high
            lower, upper = max(lower, low), min(upper, high)
            estimate = lower + (upper - lower) * (rank - seen) / in_bucket
            return min(max(estimate, low), high)
        seen += in_bucket
    return high  # pragma: no cover - the counts always reach ``rank``


def bucket_index(seconds: float) -> int:
    """The bucket ``seconds`` falls in (each bound is inclusive)."""
    return bisect_left(BOUNDS, seconds)


@dataclass(frozen=True, slots=True)
class Rollup:
    """One stored (or about to be stored) row: a series' window over one period."""

    start: int
    period: int
    name: str
    labels: Labels
    window: Window


class Timer:
    """``with metrics.timer(name, **labels):`` records the block's duration and outcome."""

    __slots__ = ("_labels", "_metrics", "_name", "_started")

    def __init__(self, metrics: Metrics, name: str, labels: dict[str, str]) -> None:
        self._metrics, self._name, self._labels = metrics, name, labels
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = self._metrics._mono()

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        elapsed = self._metrics._mono() - self._started
        failed = kind is not None and issubclass(kind, Exception)  # cancellation is no failure
        self._metrics.observe(self._name, elapsed, ok=not failed, **self._labels)


class Metrics:
    """The in-process registry; safe to record from any thread."""

    def __init__(self, clock: Clock, *, max_series: int = MAX_SERIES) -> None:
        self._clock = clock
        self._mono = clock.monotonic
        self._max_series = max_series
        self._lock = threading.Lock()
        self._by_raw: dict[tuple[str, Labels], Window] = {}
        self._open: dict[SeriesKey, Window] = {}  # the current minute, by series
        self._pending: dict[int, dict[SeriesKey, Window]] = {}  # closed minutes, not yet stored
        self._totals: dict[SeriesKey, Window] = {}  # since start, minus the open minute
        self._kinds: dict[str, str] = {}
        self._minute = 0
        self._minute_end = -math.inf
        self._resources: ResourceSample | None = None
        self._resources_stored: ResourceSample | None = None

    # -- recording (the hot path) -------------------------------------------------------------

    def observe(self, name: str, seconds: float, *, ok: bool = True, **labels: str) -> None:
        """Record one timed call of ``seconds``; ``ok=False`` counts it as a failure."""
        raw = (name, tuple(labels.items()))
        if not seconds >= 0.0:  # negative or NaN
            seconds = 0.0
        with self._lock:
            if self._mono() >= self._minute_end:
                self._rotate()
            window = self._by_raw.get(raw)
            if window is None or window.kind != TIMER:
                window = self._register(raw, TIMER)
            window.count += 1
            if not ok:
                window.failures += 1
            window.sum += seconds
            if seconds < window.min:
                window.min = seconds
            if seconds > window.max:
                window.max = seconds
            window.buckets[bisect_left(BOUNDS, seconds)] += 1

    def count(self, name: str, n: int = 1, **labels: str) -> None:
        """Add ``n`` to the counter ``name``."""
        raw = (name, tuple(labels.items()))
        with self._lock:
            if self._mono() >= self._minute_end:
                self._rotate()
            window = self._by_raw.get(raw)
            if window is None or window.kind != COUNTER:
                window = self._register(raw, COUNTER)
            window.count += n

    def gauge(self, name: str, value: float, **labels: str) -> None:
        """Set the gauge ``name`` to ``value``."""
        raw = (name, tuple(labels.items()))
        with self._lock:
            if self._mono() >= self._minute_end:
                self._rotate()
            window = self._by_raw.get(raw)
            if window is None or window.kind != GAUGE:
                window = self._register(raw, GAUGE)
            window.count += 1
            window.sum += value
            window.min = min(window.min, value)
            window.max = max(window.max, value)
            window.last = value

    def timer(self, name: str, **labels: str) -> Timer:
        """Time a ``with`` block; an ``Exception`` counts as a failure and propagates."""
        return Timer(self, name, labels)

    def wrap(self, name: str, fn: Callable[P, T], **labels: str) -> Callable[P, T]:
        """``fn``, timed as ``name``: the hook for handlers and other plain callables."""

        @wraps(fn)
        def timed(*args: P.args, **kwargs: P.kwargs) -> T:
            with self.timer(name, **labels):
                return fn(*args, **kwargs)

        return timed

    def record_resources(self, sample: ResourceSample) -> None:
        """Keep the process's latest resource sample, as gauges and for ``flush`` to store."""
        if sample.cpu_percent is not None:
            self.gauge("process_cpu_percent", sample.cpu_percent)
        self.gauge("process_cpu_seconds", sample.cpu_seconds)
        self.gauge("process_rss_bytes", sample.rss_bytes)
        self.gauge("process_open_fds", sample.open_fds)
        self.gauge("process_threads", sample.threads)
        if sample.home_bytes is not None:
            self.gauge("home_bytes", sample.home_bytes)
        self._resources = sample

    @property
    def last_resources(self) -> ResourceSample | None:
        return self._resources

    def _register(self, raw: tuple[str, Labels], kind: str) -> Window:
        name, labels = raw
        known = self._kinds.setdefault(name, kind)
        if known != kind:
            raise ValueError(f"metric {name!r} is a {known}, not a {kind}")
        key = (name, tuple(sorted(labels)))
        window = self._open.get(key)
        if window is None:
            if len(self._open) >= self._max_series:
                key = (name, (("series", "overflow"),))
                return self._open.setdefault(key, Window(kind))  # not cached: stays rare
            window = self._open[key] = Window(kind)
        self._by_raw[raw] = window
        return window

    def _rotate(self) -> None:
        """Close the open minute (its data becomes pending) and start the current one."""
        for key, window in self._open.items():
            if window.count:
                closed = window.copy()
                self._merge_pending(self._minute, key, closed)
                total = self._totals.get(key)
                if total is None:
                    self._totals[key] = closed.copy()
                else:
                    total.merge(closed)
                window.reset()
        while len(self._pending) > MAX_PENDING_MINUTES:
            del self._pending[min(self._pending)]
        wall = self._clock.now().timestamp()
        self._minute = int(wall // MINUTE) * MINUTE
        self._minute_end = self._mono() + (self._minute + MINUTE - wall)

    def _merge_pending(
        self, start: int, key: SeriesKey, window: Window, *, older: bool = False
    ) -> None:
        group = self._pending.setdefault(start, {})
        present = group.get(key)
        if present is None:
            group[key] = window
        elif older:  # put back after a failed flush: newer data may have arrived meanwhile
            window.merge(present)
            group[key] = window
        else:
            present.merge(window)

    # -- reading the registry -------------------------------------------------------------------

    def snapshot(self) -> list[tuple[SeriesKey, Window]]:
        """Every series' totals since this registry was created (for Prometheus)."""
        with self._lock:
            merged = {key: window.copy() for key, window in self._totals.items()}
            for key, window in self._open.items():
                if key in merged:
                    merged[key].merge(window)
                elif window.count:
                    merged[key] = window.copy()
        return sorted(merged.items())

    def unflushed(self) -> list[Rollup]:
        """What :meth:`flush` would write now, as minute rows (for the daemon's own reports)."""
        with self._lock:
            rows = [
                Rollup(start, MINUTE, name, labels, window.copy())
                for start, group in self._pending.items()
                for (name, labels), window in group.items()
            ]
            rows += [
                Rollup(self._minute, MINUTE, name, labels, window.copy())
                for (name, labels), window in self._open.items()
                if window.count
            ]
        return rows

    # -- persistence ------------------------------------------------------------------------------

    def flush(self, db: Database) -> int:
        """Merge every unstored minute into ``db`` in one transaction; returns rows written.

        Blocking: the daemon runs it as ``await db.call(metrics.flush, db)``. If the write
        fails, the data stays here for the next flush and the error propagates.
        """
        ensure_schema(db)
        with self._lock:
            self._rotate()
            pending, self._pending = self._pending, {}
            resources = self._resources
        rows = [
            Rollup(start, MINUTE, name, labels, window)
            for start, group in sorted(pending.items())
            for (name, labels), window in group.items()
        ]
        fresh = resources is not None and resources is not self._resources_stored
        try:
            with db.transaction() as conn:
                store_rollups(conn, rows)
                if fresh and resources is not None:
                    conn.execute(
                        "INSERT OR REPLACE INTO resource_samples (id, at, sample) VALUES (1, ?, ?)",
                        (resources.at, json.dumps(resources.to_dict())),
                    )
        except BaseException:
            with self._lock:
                for start, group in pending.items():
                    for key, window in group.items():
                        self._merge_pending(start, key, window, older=True)
            raise
        if fresh:
            self._resources_stored = resources
        return len(rows)


def store_rollups(conn: sqlite3.Connection, rows: Iterable[Rollup]) -> None:
    """Merge ``rows`` into ``metric_rollups`` (inside the caller's transaction)."""
    for row in rows:
        labels = encode_labels(row.labels)
        stored = conn.execute(
            "SELECT kind, count, failures, sum, min, max, last, buckets FROM metric_rollups"
            " WHERE period = ? AND start = ? AND name = ? AND labels = ?",
            (row.period, row.start, row.name, labels),
        ).fetchone()
        window = row.window
        if stored is not None and stored[0] == window.kind:
            window = _window_from_row(stored)
            window.merge(row.window)
        conn.execute(
            "INSERT OR REPLACE INTO metric_rollups (period, start, name, labels, kind, count,"
            " failures, sum, min, max, last, buckets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.period,
                row.start,
                row.name,
                labels,
                window.kind,
                window.count,
                window.failures,
                window.sum,
                window.min if window.count and window.kind != COUNTER else None,
                window.max if window.count and window.kind != COUNTER else None,
                window.last if window.kind == GAUGE else None,
                encode_buckets(window.buckets),
            ),
        )


def encode_labels(labels: Labels) -> str:
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))


def decode_labels(text: str) -> Labels:
    return tuple(sorted((str(k), str(v)) for k, v in json.loads(text).items()))


def encode_buckets(buckets: Sequence[int]) -> str:
    """Sparse ``index:count`` pairs, e.g. ``"7:120,8:3"``; empty for no buckets."""
    return ",".join(f"{i}:{n}" for i, n in enumerate(buckets) if n)


def decode_buckets(text: str) -> list[int]:
    buckets = [0] * SLOTS
    for pair in filter(None, text.split(",")):
        index, _, count = pair.partition(":")
        buckets[int(index)] += int(count)
    return buckets


def _window_from_row(row: Sequence[Any]) -> Window:
    kind, count, failures, total, low, high, last, buckets = row
    window = Window(kind)
    window.count, window.failures, window.sum = int(count), int(failures), float(total)
    window.min = math.inf if low is None else float(low)
    window.max = -math.inf if high is None else float(high)
    window.last = 0.0 if last is None else float(last)
    if kind == TIMER:
        window.buckets = decode_buckets(buckets or "")
    return window


def load_rollups(db: Database, start: int, end: int) -> list[Rollup]:
    """Stored rows whose period starts in ``[start, end)``, oldest first."""
    rows = db.query(
        "SELECT start, period, name, labels, kind, count, failures, sum, min, max, last, buckets"
        " FROM metric_rollups WHERE start >= ? AND start < ? ORDER BY start, period",
        (start, end),
    )
    return [
        Rollup(r[0], r[1], r[2], decode_labels(r[3]), _window_from_row(tuple(r)[4:])) for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Compaction:
    """What one :func:`compact` did."""

    minutes_rolled: int
    hours_written: int
    rows_expired: int


def compact(db: Database, now: datetime) -> Compaction:
    """Roll minute rows older than 48 h into hourly rows; drop hourly rows older than 30 days.

    Only whole hours are rolled up, so a minute row lives between 48 and 49 hours.
    """
    ensure_schema(db)
    moment = int(now.timestamp())
    minute_cutoff = (moment - MINUTE_RETENTION_S) // HOUR * HOUR
    hour_cutoff = moment - HOUR_RETENTION_S
    with db.transaction() as conn:
        old = conn.execute(
            "SELECT start, name, labels, kind, count, failures, sum, min, max, last, buckets"
            " FROM metric_rollups WHERE period = ? AND start < ? ORDER BY start",
            (MINUTE, minute_cutoff),
        ).fetchall()
        hours: dict[tuple[int, str, str], Window] = {}
        for row in old:
            key = (row[0] // HOUR * HOUR, row[1], row[2])
            window = _window_from_row(tuple(row)[3:])
            present = hours.get(key)
            if present is None or present.kind != window.kind:
                hours[key] = window
            else:
                present.merge(window)
        store_rollups(
            conn,
            (
                Rollup(hour, HOUR, name, decode_labels(labels), window)
                for (hour, name, labels), window in hours.items()
            ),
        )
        conn.execute(
            "DELETE FROM metric_rollups WHERE period = ? AND start < ?", (MINUTE, minute_cutoff)
        )
        expired = conn.execute(
            "DELETE FROM metric_rollups WHERE start < ?", (hour_cutoff,)
        ).rowcount
    return Compaction(minutes_rolled=len(old), hours_written=len(hours), rows_expired=expired)


# -- the daemon's chores ----------------------------------------------------------------------


class MetricsUpkeep:
    """The daemon's metric chores as one supervised component (``await upkeep(beat)``).

    Every ``sample_s`` (15 s) it samples resources into the registry; every ``flush_s`` (60 s)
    it flushes; every ``compact_s`` (1 h) it compacts; the first round does all three. A storage
    error is logged when it first appears and retried on the next round (the data stays in
    memory); anything else propagates, so the supervisor restarts the component. ``close()`` is
    the final flush at shutdown.
    """

    def __init__(
        self,
        metrics: Metrics,
        db: Database,
        clock: Clock,
        sampler: ResourceSampler | None = None,
        *,
        sample_s: float = 15.0,
        flush_s: float = 60.0,
        compact_s: float = 3600.0,
    ) -> None:
        self._metrics, self._db, self._clock, self._sampler = metrics, db, clock, sampler
        self.sample_s, self.flush_s, self.compact_s = sample_s, flush_s, compact_s
        start = clock.monotonic()
        self._next_flush = start  # at once, so the first resource sample is visible
        self._next_compact = start
        self.error: str | None = None

    async def __call__(self, beat: Callable[[], object]) -> None:
        while True:
            await self.tick()
            beat()
            await self._clock.sleep(self.sample_s)

    async def tick(self) -> None:
        """Do whatever is due now."""
        import asyncio

        moment = self._clock.monotonic()
        if self._sampler is not None:
            try:
                sample = await asyncio.to_thread(self._sampler.sample)
            except OSError as exc:  # no /proc (not Linux): stop sampling, say so once
                log.warning("resource sampling unavailable", extra={"error": str(exc)})
                self._sampler = None
            else:
                self._metrics.record_resources(sample)
        if moment >= self._next_flush:
            self._next_flush = moment + self.flush_s
            _log_performance(self._metrics.unflushed())
            await self._storage(self._metrics.flush, self._db)
        if moment >= self._next_compact:
            self._next_compact = moment + self.compact_s
            await self._storage(compact, self._db, self._clock.now())

    async def close(self) -> None:
        """The final flush, at shutdown (after the consumers have stopped)."""
        await self._storage(self._metrics.flush, self._db)

    async def _storage(self, fn: Callable[..., object], *args: Any) -> None:
        try:
            await self._db.call(fn, *args)
        except StorageError as exc:
            if str(exc) != self.error:
                log.error("metrics not stored; will retry", extra={"error": str(exc)})
            self.error = str(exc)
        else:
            self.error = None


def _log_performance(rows: Sequence[Rollup]) -> None:
    """One info line per flush with each timed series' count, failures and p50/p95."""
    merged: dict[tuple[str, Labels], Window] = {}
    for row in rows:
        if row.window.kind == TIMER and row.window.count:
            merged.setdefault((row.name, row.labels), Window(TIMER)).merge(row.window)
    if not merged:
        return
    figures = []
    for (name, labels), window in sorted(merged.items()):
        p50, p95 = window.percentile(50), window.percentile(95)
        figures.append(
            {
                "name": name,
                "labels": dict(labels),
                "count": window.count,
                "failures": window.failures,
                "p50_ms": None if p50 is None else round(p50 * 1000, 3),
                "p95_ms": None if p95 is None else round(p95 * 1000, 3),
            }
        )
    log.info("performance", extra={"series": figures})


# -- the report behind ``vigil stats`` ----------------------------------------------------------


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
