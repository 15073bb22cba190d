"""What a metric records over one period: a :class:`Window`, and its latency buckets.

A window holds a series' count, failures, exact sum/min/max, last value and, for timers, a count
in each of :data:`BOUNDS`' fixed, log-spaced latency buckets (0.1 ms ... 60 s, six per decade,
plus an overflow bucket). Percentiles are estimated from the buckets (always inside the bucket
that holds the exact one), and buckets add up, so minutes merge into hours and windows without
keeping samples. The bucket layout is part of the stored schema (``metric_rollups.buckets``):
changing :data:`BOUNDS` needs a migration.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

TIMER, COUNTER, GAUGE = "timer", "counter", "gauge"
MINUTE, HOUR, DAY = 60, 3600, 86400

_MANTISSAS = ("1.0", "1.5", "2.2", "3.2", "4.6", "6.8")  # 10 ** (k / 6), rounded
BOUNDS: tuple[float, ...] = (
    *(float(f"{m}e{exponent}") for exponent in range(-4, 1) for m in _MANTISSAS),
    *(10.0, 15.0, 22.0, 32.0, 46.0, 60.0),
)
"""Upper bounds (seconds, inclusive) of the latency buckets; one more bucket holds the rest."""
SLOTS = len(BOUNDS) + 1

Labels = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, Labels]  # (name, labels sorted by label name)


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
