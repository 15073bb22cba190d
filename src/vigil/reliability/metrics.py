"""Metrics: timings, counters and gauges kept in memory, rolled up per minute in SQLite.

Recording is the hot path and costs a lock, one dict lookup and a few adds (about 1 µs):

- ``observe(name, seconds, ok=..., **labels)`` records one timed call: count, failures, exact
  sum/min/max and a count in one of the fixed latency buckets
  (:mod:`~vigil.reliability.metrics_window`).
- ``count(name, n, **labels)`` adds to a plain counter; ``gauge(name, value, **labels)`` sets a
  level (each minute keeps samples, sum, min, max and the last value).

Label values must come from small, fixed sets (consumer, provider, dependency names), never ids:
every distinct label set is a series, and past :data:`MAX_SERIES` new ones are folded into one
``series="overflow"`` series per name.

:meth:`Metrics.flush` merges everything not yet written into its minute rows in one transaction
(the daemon calls it every minute and at shutdown; on failure the data stays in memory for the
next try). The parts, one module each: the window and its buckets
(:mod:`~vigil.reliability.metrics_window`), the rows and their retention
(:mod:`~vigil.reliability.metrics_store`), the daemon's chores
(:mod:`~vigil.reliability.metrics_upkeep`) and the ``vigil stats`` report
(:mod:`~vigil.reliability.metrics_report`). Their public names are importable from here too.
"""

from __future__ import annotations

import json
import math
import threading
from bisect import bisect_left
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from vigil.clock import Clock
from vigil.reliability.metrics_report import report, summarize, trend, windows
from vigil.reliability.metrics_store import (
    HOUR_RETENTION_S,
    MIGRATIONS,
    MINUTE_RETENTION_S,
    Compaction,
    compact,
    decode_buckets,
    decode_labels,
    encode_buckets,
    encode_labels,
    ensure_schema,
    load_rollups,
    store_rollups,
    window_from_row,
)
from vigil.reliability.metrics_upkeep import MetricsUpkeep
from vigil.reliability.metrics_window import (
    BOUNDS,
    COUNTER,
    DAY,
    GAUGE,
    HOUR,
    MINUTE,
    SLOTS,
    TIMER,
    Labels,
    Rollup,
    SeriesKey,
    Window,
    bucket_index,
    bucket_percentile,
)
from vigil.storage import Database

if TYPE_CHECKING:
    from vigil.reliability.resources import ResourceSample

__all__ = [
    "BOUNDS",
    "COUNTER",
    "DAY",
    "GAUGE",
    "HOUR",
    "HOUR_RETENTION_S",
    "MAX_PENDING_MINUTES",
    "MAX_SERIES",
    "MIGRATIONS",
    "MINUTE",
    "MINUTE_RETENTION_S",
    "SLOTS",
    "TIMER",
    "Compaction",
    "Labels",
    "Metrics",
    "MetricsUpkeep",
    "Rollup",
    "SeriesKey",
    "Timer",
    "Window",
    "bucket_index",
    "bucket_percentile",
    "compact",
    "decode_buckets",
    "decode_labels",
    "encode_buckets",
    "encode_labels",
    "ensure_schema",
    "load_rollups",
    "report",
    "store_rollups",
    "summarize",
    "trend",
    "window_from_row",
    "windows",
]

P = ParamSpec("P")
T = TypeVar("T")

MAX_SERIES = 1000
MAX_PENDING_MINUTES = 24 * 60  # unflushed minutes kept if the database stays unwritable


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
