"""The metrics registry: bucketed percentiles, minute rollups in SQLite, compaction, trends."""

from __future__ import annotations

import math
import random
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vigil.reliability.metrics import (
    BOUNDS,
    HOUR,
    MINUTE,
    Metrics,
    Window,
    bucket_index,
    compact,
    decode_buckets,
    ensure_schema,
    report,
)
from vigil.reliability.resources import ResourceSample
from vigil.storage import Database
from vigil.testing import FakeClock


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "vigil.db")
    yield database
    database.close()


def _move_to(clock: FakeClock, moment: datetime) -> None:
    clock.advance((moment - clock.now()).total_seconds())


def _only_window(metrics: Metrics) -> Window:
    (row,) = metrics.unflushed()
    return row.window


def _metric(data: dict[str, Any], name: str, **labels: str) -> dict[str, Any]:
    for metric in data["metrics"]:
        if metric["name"] == name and metric["labels"] == labels:
            found: dict[str, Any] = metric
            return found
    raise AssertionError(f"no {name} {labels} in {[m['name'] for m in data['metrics']]}")


def _rows(db: Database, period: int) -> list[Any]:
    return db.query(
        "SELECT start, name, labels, count, failures, sum, min, max, last, buckets"
        " FROM metric_rollups WHERE period = ? ORDER BY start, name, labels",
        (period,),
    )


# -- recording ------------------------------------------------------------------------------


def test_percentiles_from_buckets_are_within_one_bucket_of_the_exact_ones() -> None:
    """On 20,000 spread-out latencies, bucket estimates of p50/p95/p99 land within one bucket of
    the exact nearest-rank percentiles, and count, sum, min and max are exact."""
    rng = random.Random(7)
    values = [min(rng.lognormvariate(math.log(0.02), 1.6), 90.0) for _ in range(20_000)]
    metrics = Metrics(FakeClock())
    for value in values:
        metrics.observe("triage_seconds", value)
    window = _only_window(metrics)
    ordered = sorted(values)
    for q in (50, 95, 99):
        exact = ordered[math.ceil(q * len(values) / 100) - 1]
        estimate = window.percentile(q)
        assert estimate is not None
        assert abs(bucket_index(estimate) - bucket_index(exact)) <= 1, (q, exact, estimate)
    assert window.count == len(values)
    assert window.sum == pytest.approx(sum(values))
    assert (window.min, window.max) == (min(values), max(values))
    assert sum(window.buckets) == len(values)


def test_percentiles_of_identical_values_are_exact() -> None:
    """When every call took the same time, every percentile is that time (clamped to min/max)."""
    metrics = Metrics(FakeClock())
    for _ in range(50):
        metrics.observe("bus_publish_seconds", 0.0123)
    window = _only_window(metrics)
    assert [window.percentile(q) for q in (50, 95, 99)] == [0.0123] * 3


def test_bucket_bounds_are_inclusive_and_overflow_has_its_own_bucket() -> None:
    """A value equal to a bound counts in that bound's bucket; anything past 60 s in the last."""
    assert bucket_index(BOUNDS[0]) == 0
    assert bucket_index(BOUNDS[0] * 1.01) == 1
    assert bucket_index(60.0) == len(BOUNDS) - 1
    assert bucket_index(61.0) == len(BOUNDS)


def test_labels_in_any_order_are_one_series_and_a_name_keeps_its_kind() -> None:
    """Keyword order does not split a series, and reusing a timer's name as a counter is refused."""
    metrics = Metrics(FakeClock())
    metrics.observe("provider_call_seconds", 0.5, provider="local", model="m")
    metrics.observe("provider_call_seconds", 0.7, model="m", provider="local", ok=False)
    (row,) = metrics.unflushed()
    assert row.labels == (("model", "m"), ("provider", "local"))
    assert (row.window.count, row.window.failures) == (2, 1)
    with pytest.raises(ValueError, match="is a timer"):
        metrics.count("provider_call_seconds")


def test_series_past_the_limit_fold_into_one_overflow_series() -> None:
    """Unbounded label values cannot grow the registry past ``max_series``."""
    metrics = Metrics(FakeClock(), max_series=3)
    for i in range(10):
        metrics.count("requests", path=f"/item/{i}")
    rows = {row.labels: row.window.count for row in metrics.unflushed()}
    assert len(rows) == 4
    assert rows[(("series", "overflow"),)] == 7


def test_timer_and_wrap_record_duration_and_outcome() -> None:
    """A timed block that raises counts as a failure; a wrapped call's duration is its own."""
    clock = FakeClock()
    metrics = Metrics(clock)

    def slow(x: int) -> int:
        clock.advance(0.25)
        return x * 2

    assert metrics.wrap("handler_seconds", slow, consumer="triage")(21) == 42
    with pytest.raises(RuntimeError), metrics.timer("handler_seconds", consumer="triage"):
        clock.advance(0.5)
        raise RuntimeError("boom")
    window = _only_window(metrics)
    assert (window.count, window.failures) == (2, 1)
    assert (window.min, window.max) == (0.25, 0.5)


def test_calls_count_in_the_minute_they_happened(db: Database) -> None:
    """Rollup rows are per wall-clock minute, even when one flush writes several minutes."""
    clock = FakeClock(datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC))
    metrics = Metrics(clock)
    metrics.observe("triage_seconds", 0.1)
    clock.advance(30)
    metrics.observe("triage_seconds", 0.2)
    clock.advance(30)  # 12:01:10
    metrics.observe("triage_seconds", 0.4, ok=False)
    assert metrics.flush(db) == 2
    rows = _rows(db, MINUTE)
    start = int(datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp())
    assert [(r["start"], r["count"], r["failures"]) for r in rows] == [
        (start, 2, 0),
        (start + 60, 1, 1),
    ]
    assert (rows[0]["min"], rows[0]["max"]) == (0.1, 0.2)


# -- persistence ----------------------------------------------------------------------------


def test_flush_and_reload_across_a_restart_keeps_the_numbers(tmp_path: Path) -> None:
    """Two daemon lifetimes flushing into the same minute add up, with exact min, max and sum."""
    clock = FakeClock()
    path = tmp_path / "vigil.db"
    with Database(path) as first:
        metrics = Metrics(clock)
        for seconds in (0.010, 0.020, 0.030):
            metrics.observe("handler_seconds", seconds, consumer="triage")
        metrics.observe("handler_seconds", 0.5, ok=False, consumer="triage")
        metrics.count("events_handled", 4)
        metrics.flush(first)
        assert metrics.flush(first) == 0  # nothing new: nothing written twice
    clock.advance(5)
    with Database(path) as second:
        metrics = Metrics(clock)  # a new process: nothing in memory
        metrics.observe("handler_seconds", 0.001, consumer="triage")
        metrics.count("events_handled", 1)
        metrics.flush(second)
        data = report(second, clock.now())
    handler = _metric(data, "handler_seconds", consumer="triage")["last_hour"]
    assert (handler["count"], handler["failures"]) == (5, 1)
    assert handler["success_rate"] == 0.8
    assert (handler["min"], handler["max"]) == (0.001, 0.5)
    assert handler["mean"] == pytest.approx((0.01 + 0.02 + 0.03 + 0.5 + 0.001) / 5)
    assert _metric(data, "events_handled")["last_hour"]["count"] == 5


def test_a_failed_flush_keeps_the_data_for_the_next_one(tmp_path: Path) -> None:
    """When the write fails, the minute stays in memory and the next flush stores all of it."""
    clock = FakeClock()
    metrics = Metrics(clock)
    metrics.observe("dependency_call_seconds", 0.2, dependency="git")
    with Database(tmp_path / "broken.db") as broken:
        ensure_schema(broken)
        broken.execute("DROP TABLE metric_rollups")
        with pytest.raises(Exception, match="metric_rollups"):
            metrics.flush(broken)
    metrics.observe("dependency_call_seconds", 0.4, dependency="git")
    with Database(tmp_path / "vigil.db") as db:
        metrics.flush(db)
        (row,) = _rows(db, MINUTE)
    assert (row["count"], row["min"], row["max"]) == (2, 0.2, 0.4)


def test_the_daemon_report_adds_the_unflushed_minute(db: Database) -> None:
    """Queries read the database plus, when given, what the registry has not flushed yet."""
    clock = FakeClock()
    metrics = Metrics(clock)
    metrics.observe("triage_seconds", 0.3)
    metrics.flush(db)
    metrics.observe("triage_seconds", 0.6)
    stored_only = report(db, clock.now())
    with_memory = report(db, clock.now(), unflushed=metrics.unflushed())
    assert _metric(stored_only, "triage_seconds")["last_hour"]["count"] == 1
    assert _metric(with_memory, "triage_seconds")["last_hour"]["count"] == 2


def test_gauges_keep_the_latest_value_and_the_range(db: Database) -> None:
    """A gauge reports its last value and the minute's min and max, across flushes."""
    clock = FakeClock()
    metrics = Metrics(clock)
    for value in (300.0, 100.0, 200.0):
        metrics.gauge("process_rss_bytes", value)
        clock.advance(20)
        metrics.flush(db)
    hour = _metric(report(db, clock.now()), "process_rss_bytes")["last_hour"]
    assert (hour["last"], hour["min"], hour["max"], hour["count"]) == (200.0, 100.0, 300.0, 3)
    assert hour["success_rate"] is None and hour["p95"] is None


def test_the_last_resource_sample_is_stored_at_flush(db: Database) -> None:
    """The daemon's latest resource sample is written with the rollups and read by the report."""
    clock = FakeClock()
    metrics = Metrics(clock)
    sample = ResourceSample(
        at="2026-01-01T12:00:00.000000Z",
        pid=4242,
        cpu_seconds=1.5,
        cpu_percent=2.5,
        rss_bytes=50_000_000,
        open_fds=12,
        threads=4,
        home_bytes=1_000_000,
    )
    metrics.record_resources(sample)
    ensure_schema(db)
    assert report(db, clock.now())["resources"] is None  # not flushed yet
    clock.advance(30)
    metrics.flush(db)
    resources = report(db, clock.now())["resources"]
    assert resources == {**sample.to_dict(), "age_s": 30.0, "daemon_running": None}
    rss = _metric(report(db, clock.now()), "process_rss_bytes")["last_hour"]
    assert rss["last"] == 50_000_000


# -- retention ------------------------------------------------------------------------------


def test_minute_rollups_compact_to_hourly_rows_and_expire(db: Database) -> None:
    """After 48 h minute rows merge into hourly rows with the same totals and buckets; hourly
    rows go after 30 days; recent minutes are left alone."""
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    clock = FakeClock(start)
    metrics = Metrics(clock)
    rng = random.Random(3)
    for minute in range(120):  # 12:00 .. 13:59
        for _ in range(5):
            metrics.observe("triage_seconds", rng.uniform(0.001, 2.0), ok=minute % 7 != 0)
        metrics.gauge("process_threads", float(minute))
        clock.advance(60)
    metrics.flush(db)
    minutes = [r for r in _rows(db, MINUTE) if r["name"] == "triage_seconds"]
    assert len(minutes) == 120
    _move_to(clock, start + timedelta(hours=50, minutes=30))  # Jan 3, 14:30
    metrics.observe("triage_seconds", 0.1)
    metrics.flush(db)

    done = compact(db, clock.now())

    assert done.minutes_rolled == 240 and done.hours_written == 4
    hours = _rows(db, HOUR)
    timings = [r for r in hours if r["name"] == "triage_seconds"]
    assert [r["start"] for r in timings] == [int(start.timestamp()), int(start.timestamp()) + HOUR]
    for hour, chunk in zip(timings, (minutes[:60], minutes[60:]), strict=True):
        assert hour["count"] == sum(m["count"] for m in chunk) == 300
        assert hour["failures"] == sum(m["failures"] for m in chunk)
        assert hour["sum"] == pytest.approx(sum(m["sum"] for m in chunk))
        assert hour["min"] == min(m["min"] for m in chunk)
        assert hour["max"] == max(m["max"] for m in chunk)
        decoded = [decode_buckets(m["buckets"]) for m in chunk]
        summed = [sum(col) for col in zip(*decoded, strict=True)]
        assert decode_buckets(hour["buckets"]) == summed
    threads = [r for r in hours if r["name"] == "process_threads"]
    assert [r["last"] for r in threads] == [59.0, 119.0]
    (recent,) = _rows(db, MINUTE)  # the minute at Jan 3 14:30 is younger than 48 h
    assert recent["count"] == 1

    _move_to(clock, start + timedelta(days=31, hours=3))
    expired = compact(db, clock.now())
    assert expired.rows_expired == 4  # Jan 1's two hours of timings and of threads
    (kept,) = _rows(db, HOUR)  # the minute of Jan 3, now rolled into its hour
    assert (kept["start"], kept["count"]) == (
        int(datetime(2026, 1, 3, 14, tzinfo=UTC).timestamp()),
        1,
    )


# -- trends ---------------------------------------------------------------------------------


def test_trends_compare_the_last_hour_with_the_day_before_it(db: Database) -> None:
    """The last hour is the current minute and the 59 before it, the previous day the 24 h
    before that; calls outside both are ignored, and the trend compares p95 and success."""
    now = datetime(2026, 1, 2, 12, 0, 30, tzinfo=UTC)
    hour_start = datetime(2026, 1, 2, 11, 1, tzinfo=UTC)
    day_start = hour_start - timedelta(days=1)
    clock = FakeClock(day_start - timedelta(minutes=1))
    metrics = Metrics(clock)
    for _ in range(5):  # the minute before the day window: ignored
        metrics.observe("handler_seconds", 30.0, ok=False, consumer="triage")
    _move_to(clock, day_start)
    metrics.observe("handler_seconds", 0.1, consumer="triage")
    _move_to(clock, now - timedelta(hours=5))
    for _ in range(10):
        metrics.observe("handler_seconds", 0.1, consumer="triage")
    _move_to(clock, hour_start - timedelta(seconds=1))
    for _ in range(10):
        metrics.observe("handler_seconds", 0.1, consumer="triage")
    _move_to(clock, hour_start)
    metrics.observe("handler_seconds", 0.2, consumer="triage")
    _move_to(clock, now - timedelta(minutes=30))
    for i in range(10):
        metrics.observe("handler_seconds", 0.2, ok=i >= 2, consumer="triage")
    _move_to(clock, now)
    metrics.flush(db)

    data = report(db, now)

    assert data["window"]["last_hour"]["start"] == "2026-01-02T11:01:00.000000Z"
    assert data["window"]["last_hour"]["end"] == "2026-01-02T12:01:00.000000Z"
    assert data["window"]["previous_day"]["start"] == "2026-01-01T11:01:00.000000Z"
    metric = _metric(data, "handler_seconds", consumer="triage")
    hour, day, trend = metric["last_hour"], metric["previous_day"], metric["trend"]
    assert (hour["count"], hour["failures"], day["count"], day["failures"]) == (11, 2, 21, 0)
    assert (hour["p95"], day["p95"], day["max"]) == (0.2, 0.1, 0.1)
    assert hour["rate_per_min"] == pytest.approx(11 / 60, rel=1e-3)
    assert day["rate_per_min"] == pytest.approx(21 / 1440, rel=1e-3)
    assert trend["rate_change_pct"] == round((11 / 60) / (21 / 1440) * 100 - 100, 1)
    assert trend["p95_change_pct"] == 100.0
    assert trend["success_change_pts"] == pytest.approx(-18.18, abs=0.01)
    assert trend["summary"] == "p95 +100% vs day, success 81.8% (-18.2 pts)"


def test_trend_says_when_a_series_is_new_or_idle(db: Database) -> None:
    """A series with nothing in one of the windows says so instead of a percentage."""
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    clock = FakeClock(now - timedelta(hours=3))
    metrics = Metrics(clock)
    metrics.count("old_counter", 3)
    _move_to(clock, now)
    metrics.count("new_counter", 2)
    metrics.flush(db)
    data = report(db, now)
    assert _metric(data, "old_counter")["trend"]["summary"] == "idle this hour"
    assert _metric(data, "new_counter")["trend"]["summary"] == "new: nothing in the previous day"
    assert _metric(data, "new_counter")["trend"]["rate_change_pct"] is None


def test_a_report_without_a_database_is_empty() -> None:
    """No database yet means an empty report in the same shape, not an error."""
    data = report(None, datetime(2026, 1, 1, tzinfo=UTC))
    assert data["metrics"] == [] and data["resources"] is None
    assert set(data) == {"generated", "window", "metrics", "resources"}


def test_recording_while_another_thread_flushes_loses_nothing(db: Database) -> None:
    """Calls recorded from several threads while flushes run on another are all stored once."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so any unguarded step would show
    metrics = Metrics(FakeClock())
    done = threading.Event()

    def record(offset: int) -> None:
        for n in range(5000):
            metrics.observe("handler_seconds", 0.001, consumer=f"c{(n * 7 + offset) % 50}")

    def flush() -> None:
        while not done.is_set():
            metrics.flush(db)

    flusher = threading.Thread(target=flush)
    recorders = [threading.Thread(target=record, args=(i,)) for i in range(3)]
    try:
        flusher.start()
        for thread in recorders:
            thread.start()
        for thread in recorders:
            thread.join()
    finally:
        done.set()
        flusher.join()
        sys.setswitchinterval(previous)
    metrics.flush(db)
    row = db.query_one("SELECT SUM(count), COUNT(DISTINCT labels) FROM metric_rollups")
    assert row is not None and (row[0], row[1]) == (15_000, 50)
