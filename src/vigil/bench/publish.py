"""publish: durable publish through Vigil's event log against raw SQLite, in the same run.

Modes: *single* (one event per transaction) and *batch* (``append`` of 1,000 events). Variants:

- ``vigil_append``: ``SqliteEventLog(Database(path), SystemClock()).append(...)`` with events made
  by ``new_event`` before timing: like for like with the raw baseline, which also gets its ids and
  times ready-made. The checks use this one.
- ``vigil_new_event_append``: ``new_event`` (id, timestamp, type check) inside the timing too: what
  a source really pays per event. Reported beside it, with its own ratios.
- ``raw_same_schema`` (the baseline): ``sqlite3`` with WAL and ``synchronous=NORMAL``, the tables
  and indexes created by importing ``vigil.events.log.MIGRATIONS``, inserting the same nine
  columns; data is serialised to JSON inside the timing, as Vigil does. A single insert runs in
  autocommit (one statement, its own transaction), the cheapest durable insert there is.
- ``raw_minimal``: an integer key and a text blob (the data JSON), for information: what the
  schema's indexes cost.

Every variant starts from a fresh database file per repetition; variants are interleaved
(round-robin, rotated each repetition) so a burst of machine noise hits them all alike.
Throughput is the median repetition; per-call latencies are reported too.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result
from vigil.clock import SystemClock
from vigil.events.log import MIGRATIONS, SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.storage import Database

TARGET_RATIO = 0.5
BATCH = 1000
_INSERT = (
    "INSERT INTO events (id, type, time, source, subject, data, fingerprint, correlation_id,"
    " causation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_TYPES = ("build.run.started", "file.change.detected", "log.error.matched", "build.run.failed")
_TAIL = (
    "FAILED tests/test_orders.py::test_refund_rounding - AssertionError: assert Decimal('9.99') =="
    " Decimal('10.00')\n1 failed, 212 passed, 3 skipped in 14.02s\n"
)

# (type, data, source, subject, fingerprint, correlation_id): the inputs of one event.
Spec = tuple[str, dict[str, Any], str, str | None, str | None, str | None]
# Runs ``n`` events (or batches) into a fresh database; returns per-call nanoseconds.
Runner = Callable[[Path, Sequence[Spec], Sequence[Event], int], list[int]]


def specs(n: int) -> list[Spec]:
    """``n`` realistic event inputs: mixed types, subjects, some fingerprints and correlations."""
    result: list[Spec] = []
    for i in range(n):
        kind = _TYPES[i % len(_TYPES)]
        data: dict[str, Any] = {
            "command": "pytest -q tests/",
            "cwd": "/home/dev/src/shop",
            "seq_hint": i,
        }
        if kind == "build.run.failed":
            data.update(exit_code=1, duration_ms=14023.5, output_tail=_TAIL)
        elif kind == "file.change.detected":
            data = {"path": f"src/shop/orders/module_{i % 97}.py", "change": "modified"}
        fingerprint = f"{i % 251:016x}" if kind == "build.run.failed" else None
        correlation = f"ev_corr{i // 4:020d}" if i % 4 else None
        subject = None if kind == "file.change.detected" else "pytest -q tests/"
        result.append((kind, data, "vigil.bench", subject, fingerprint, correlation))
    return result


def events_of(items: Sequence[Spec], clock: SystemClock) -> list[Event]:
    return [
        new_event(t, d, clock=clock, source=s, subject=subj, fingerprint=fp, correlation_id=c)
        for t, d, s, subj, fp, c in items
    ]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# -- Vigil ---------------------------------------------------------------------------------------


def _vigil_append(path: Path, _: Sequence[Spec], events: Sequence[Event], size: int) -> list[int]:
    log = SqliteEventLog(Database(path), SystemClock())
    times: list[int] = []
    try:
        for chunk in _chunks(events, size):
            started = time.perf_counter_ns()
            log.append(chunk)
            times.append(time.perf_counter_ns() - started)
    finally:
        log.db.close()
    return times


def _vigil_new_event(path: Path, items: Sequence[Spec], _: Sequence[Event], size: int) -> list[int]:
    clock = SystemClock()
    log = SqliteEventLog(Database(path), clock)
    times: list[int] = []
    try:
        for chunk in _chunks(items, size):
            started = time.perf_counter_ns()
            log.append(events_of(chunk, clock))
            times.append(time.perf_counter_ns() - started)
    finally:
        log.db.close()
    return times


# -- raw SQLite ----------------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _raw_same_schema(
    path: Path, _: Sequence[Spec], events: Sequence[Event], size: int
) -> list[int]:
    conn = _connect(path)
    conn.execute("BEGIN")
    for migrate in MIGRATIONS:
        migrate(conn)
    conn.execute("COMMIT")
    rows = [
        (
            e.id,
            e.type,
            e.time,
            e.source,
            e.subject,
            e.data,
            e.fingerprint,
            e.correlation_id,
            e.causation_id,
        )
        for e in events
    ]
    times: list[int] = []
    try:
        for chunk in _chunks(rows, size):
            started = time.perf_counter_ns()
            if size == 1:
                r = chunk[0]
                conn.execute(_INSERT, (*r[:5], _dumps(r[5]), *r[6:]))
            else:
                conn.execute("BEGIN")
                conn.executemany(_INSERT, [(*r[:5], _dumps(r[5]), *r[6:]) for r in chunk])
                conn.execute("COMMIT")
            times.append(time.perf_counter_ns() - started)
    finally:
        conn.close()
    return times


def _raw_minimal(path: Path, _: Sequence[Spec], events: Sequence[Event], size: int) -> list[int]:
    conn = _connect(path)
    conn.execute("CREATE TABLE blobs (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    payloads = [e.data for e in events]
    times: list[int] = []
    try:
        for chunk in _chunks(payloads, size):
            started = time.perf_counter_ns()
            if size == 1:
                conn.execute("INSERT INTO blobs (v) VALUES (?)", (_dumps(chunk[0]),))
            else:
                conn.execute("BEGIN")
                conn.executemany("INSERT INTO blobs (v) VALUES (?)", [(_dumps(d),) for d in chunk])
                conn.execute("COMMIT")
            times.append(time.perf_counter_ns() - started)
    finally:
        conn.close()
    return times


VARIANTS: dict[str, Runner] = {
    "vigil_append": _vigil_append,
    "vigil_new_event_append": _vigil_new_event,
    "raw_same_schema": _raw_same_schema,
    "raw_minimal": _raw_minimal,
}


def _measure(ctx: Context, mode: str, n: int, size: int, reps: int) -> dict[str, dict[str, Any]]:
    """Throughput and per-call latency of every variant, interleaved over ``reps``."""
    items = specs(n)
    events = events_of(items, SystemClock())
    names = list(VARIANTS)
    durations: dict[str, list[int]] = {name: [] for name in names}
    calls: dict[str, list[int]] = {name: [] for name in names}
    for rep in range(reps):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            path = ctx.directory(f"{mode}-{name}-{rep}") / "events.db"
            times = VARIANTS[name](path, items, events, size)
            durations[name].append(sum(times))
            calls[name].extend(times)
    return {
        name: {
            "throughput": stats.throughput([n] * reps, durations[name]),
            "call_latency": stats.latency(calls[name]),
        }
        for name in names
    }


def run(ctx: Context) -> Result:
    reps = ctx.size(5, 3)
    n_single = ctx.size(2000, 300)
    n_batch = ctx.size(20 * BATCH, 3 * BATCH)
    ctx.say(f"publish: single, {reps} x {n_single} events per variant")
    single = _measure(ctx, "single", n_single, 1, reps)
    ctx.say(f"publish: batch, {reps} x {n_batch} events in batches of {BATCH}")
    batch = _measure(ctx, "batch", n_batch, BATCH, reps)

    def rate(table: dict[str, dict[str, Any]], name: str) -> float:
        return float(table[name]["throughput"]["median"])

    result = Result()
    for mode, table in (("single", single), ("batch", batch)):
        for name in ("vigil_append", "vigil_new_event_append"):
            result.figures[f"{mode}_{name}"] = table[name]
        result.baseline[f"{mode}_raw_same_schema"] = table["raw_same_schema"]
        result.baseline[f"{mode}_raw_minimal"] = table["raw_minimal"]
        raw = rate(table, "raw_same_schema")
        result.ratio[f"ratio_{mode}"] = stats.ratio(rate(table, "vigil_append"), raw)
        result.ratio[f"ratio_{mode}_new_event"] = stats.ratio(
            rate(table, "vigil_new_event_append"), raw
        )
        result.ratio[f"ratio_{mode}_vs_minimal"] = stats.ratio(
            rate(table, "vigil_append"), rate(table, "raw_minimal")
        )
    result.figures["events_single"] = n_single
    result.figures["events_batch"] = n_batch
    result.figures["batch_size"] = BATCH
    for name in ("ratio_single", "ratio_batch"):
        result.checks.append(Check(name, result.ratio[name], ">=", TARGET_RATIO))
    result.notes.append(
        "ratio_* = Vigil append (events made before timing) / raw same-schema events/s; "
        "*_new_event includes new_event() in the timing; *_vs_minimal is against a key+blob table"
    )
    return result
