"""Summaries that survive a noisy machine: percentiles of latencies, medians of throughputs.

Latencies are collected as integer nanoseconds (``time.perf_counter_ns`` or, across processes,
``time.time_ns``) and reported in milliseconds. Percentiles interpolate linearly between the two
nearest samples (numpy's default), so ``p50`` is the median. Throughputs are measured once per
repetition and reported as the median repetition, with the spread beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

NS_PER_MS = 1_000_000


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values``, linearly interpolated."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    weight = position - low
    return float(ordered[low] * (1 - weight) + ordered[high] * weight)


def _round(value: float) -> float:
    """Four significant figures: enough to compare, few enough to read."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = 3 - math.floor(math.log10(abs(value)))
    return round(value, max(digits, 0))


def latency(samples_ns: Sequence[int]) -> dict[str, Any]:
    """``n``, ``p50`` (= ``median``), ``p95``, ``p99``, ``min``, ``max``, ``mean``, in ms."""
    values = [s / NS_PER_MS for s in samples_ns]
    if not values:
        return {"unit": "ms", "n": 0}
    p50 = percentile(values, 50)
    return {
        "unit": "ms",
        "n": len(values),
        "median": _round(p50),
        "p50": _round(p50),
        "p95": _round(percentile(values, 95)),
        "p99": _round(percentile(values, 99)),
        "min": _round(min(values)),
        "max": _round(max(values)),
        "mean": _round(sum(values) / len(values)),
    }


def throughput(counts: Sequence[int], durations_ns: Sequence[int]) -> dict[str, Any]:
    """Items per second of each repetition, summarised by the median repetition."""
    rates = [c / (d / 1e9) for c, d in zip(counts, durations_ns, strict=True) if d > 0]
    if not rates:
        return {"unit": "events/s", "reps": 0}
    return {
        "unit": "events/s",
        "reps": len(rates),
        "per_rep": counts[0] if len(set(counts)) == 1 else list(counts),
        "median": _round(percentile(rates, 50)),
        "min": _round(min(rates)),
        "max": _round(max(rates)),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator`` rounded for the report; ``None`` (JSON null) over zero."""
    if denominator == 0:
        return None
    return _round(numerator / denominator)
