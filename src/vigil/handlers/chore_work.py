"""What each chore does (see :mod:`vigil.handlers.chores` for when).

Every function takes the chore's spec, the moment of the run and the previous run's time, and
returns a JSON-able result plus the events to publish. They are synchronous and run off the
event loop (the daemon uses a worker thread; ``vigil chores run`` its own process).

Retention never deletes an event a durable consumer has still to handle, nor the newest passing
run of each command (history needs it to find suspects), and writes what it removed as per-day,
per-type counts into ``events_compacted`` (namespace ``retention``), so totals stay answerable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vigil.clock import Clock, isoformat
from vigil.events import catalog
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.handlers.chores import ChoreSpec, Work
from vigil.reliability.metrics import load_rollups, summarize
from vigil.storage import Database, apply_migrations, sql

SOURCE = "vigil.chores"
RETENTION_BATCH = 2000
MIGRATIONS = [
    sql(
        """CREATE TABLE events_compacted (
            day TEXT NOT NULL,
            type TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (day, type)
        ) WITHOUT ROWID"""
    )
]


@dataclass(frozen=True, slots=True)
class ChorePlace:
    """Where chores read and write."""

    log: SqliteEventLog
    clock: Clock
    db_path: Path
    log_dir: Path
    backup_dir: Path

    @property
    def db(self) -> Database:
        return self.log.db


def _table(db: Database, name: str) -> bool:
    return db.query_one("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)) is not None


def _count(db: Database, sql_text: str, params: tuple[Any, ...]) -> int:
    row = db.query_one(sql_text, params)
    return int(row[0]) if row and row[0] is not None else 0


def status_report(place: ChorePlace) -> Work:
    def run(
        spec: ChoreSpec, now: datetime, previous: str | None
    ) -> tuple[dict[str, Any], list[Event]]:
        db = place.db
        since = previous or isoformat(now - timedelta(days=1))
        until = isoformat(now)
        window = (since, until)
        failed = _count(
            db,
            "SELECT COUNT(*) FROM events WHERE type IN (?, ?) AND time >= ? AND time < ?",
            (catalog.BUILD_RUN_FAILED, catalog.CI_RUN_FAILED, *window),
        )
        fixed = _count(
            db,
            "SELECT COUNT(*) FROM events WHERE type = ? AND time >= ? AND time < ?",
            (catalog.FIX_LEARNED, *window),
        )
        pending: list[dict[str, Any]] = []
        if _table(db, "runs"):
            rows = db.query(
                "SELECT r.subject, r.cwd, r.time FROM runs r JOIN (SELECT subject, cwd,"
                " MAX(seq) AS seq FROM runs GROUP BY subject, cwd) last ON r.seq = last.seq"
                " WHERE r.status = 'failed' ORDER BY r.time DESC LIMIT 20"
            )
            pending += [{"kind": "failing", "what": r[0], "cwd": r[1], "since": r[2]} for r in rows]
        if _table(db, "alert_state"):
            rows = db.query(
                "SELECT alertname, starts_at FROM alert_state WHERE status = 'firing' LIMIT 20"
            )
            pending += [{"kind": "alert", "what": r[0], "since": r[1]} for r in rows]
        if _table(db, "probe_state"):
            rows = db.query("SELECT name, since FROM probe_state WHERE status = 'failed' LIMIT 20")
            pending += [{"kind": "probe", "what": r[0], "since": r[1]} for r in rows]
        result = {
            "since": since,
            "until": until,
            "failed": failed,
            "fixed": fixed,
            "pending": len(pending),
        }
        report = new_event(
            catalog.REPORT_DAILY,
            {**result, "pending_items": pending},
            clock=place.clock,
            source=SOURCE,
            subject="status_report",
        )
        body = f"Since {since[:16].replace('T', ' ')} UTC: {failed} failed, {fixed} fixed"
        body += f", {len(pending)} pending." if pending else ", nothing pending."
        notice = new_event(
            catalog.NOTIFICATION_REQUESTED,
            {"title": "Vigil daily status", "body": body, "severity": "info"},
            clock=place.clock,
            source=SOURCE,
            subject="status_report",
            cause=report,
        )
        return result, [report, notice]

    return run


def retention(place: ChorePlace) -> Work:
    def run(
        spec: ChoreSpec, now: datetime, previous: str | None
    ) -> tuple[dict[str, Any], list[Event]]:
        db = place.db
        apply_migrations(db, "retention", MIGRATIONS)
        cutoff = isoformat(now - timedelta(days=int(spec.options["retention_days"])))
        offsets = list(place.log.offsets().values())
        safe = min(offsets) if offsets else place.log.last_seq()
        keep_runs = _table(db, "runs")
        removed = 0
        while True:
            with db.transaction() as conn:
                done = _retention_batch(conn, cutoff, safe, keep_runs)
            removed += done
            if done < RETENTION_BATCH:
                break
        pruned = 0
        if _table(db, "deliveries"):
            with db.transaction() as conn:
                pruned = conn.execute("DELETE FROM deliveries WHERE time < ?", (cutoff,)).rowcount
        return {"cutoff": cutoff, "events_removed": removed, "deliveries_pruned": pruned}, []

    return run


def _retention_batch(conn: sqlite3.Connection, cutoff: str, safe: int, keep_runs: bool) -> int:
    keep = (
        "AND seq NOT IN (SELECT MAX(seq) FROM runs WHERE status = 'passed' GROUP BY subject, cwd)"
        if keep_runs
        else ""
    )
    rows = conn.execute(
        f"SELECT seq, id, type, substr(time, 1, 10) FROM events WHERE time < ? AND seq <= ? {keep}"
        " ORDER BY seq LIMIT ?",
        (cutoff, safe, RETENTION_BATCH),
    ).fetchall()
    if not rows:
        return 0
    counts: dict[tuple[str, str], int] = {}
    for _, _, kind, day in rows:
        counts[(day, kind)] = counts.get((day, kind), 0) + 1
    conn.executemany(
        "INSERT INTO events_compacted (day, type, count) VALUES (?, ?, ?)"
        " ON CONFLICT (day, type) DO UPDATE SET count = count + excluded.count",
        [(day, kind, n) for (day, kind), n in counts.items()],
    )
    conn.executemany("DELETE FROM consumer_done WHERE event_id = ?", [(r[1],) for r in rows])
    conn.executemany("DELETE FROM events WHERE seq = ?", [(r[0],) for r in rows])
    return len(rows)


def log_cleanup(place: ChorePlace) -> Work:
    def run(
        spec: ChoreSpec, now: datetime, previous: str | None
    ) -> tuple[dict[str, Any], list[Event]]:
        cutoff = (now - timedelta(days=int(spec.options["log_days"]))).timestamp()
        removed: list[str] = []
        if place.log_dir.is_dir():
            for path in sorted(place.log_dir.iterdir()):
                rotated = ".log." in path.name or path.name.endswith((".log.gz", ".tmp"))
                try:
                    if rotated and path.is_file() and path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed.append(path.name)
                except OSError:
                    continue
        return {"removed": removed}, []

    return run


def backup(place: ChorePlace) -> Work:
    def run(
        spec: ChoreSpec, now: datetime, previous: str | None
    ) -> tuple[dict[str, Any], list[Event]]:
        folder = place.backup_dir
        folder.mkdir(parents=True, exist_ok=True)
        name = f"vigil-{now.strftime('%Y%m%dT%H%M%S')}Z.db"
        final = folder / name
        partial = folder / (name + ".partial")
        source = sqlite3.connect(place.db_path, timeout=30)
        try:
            target = sqlite3.connect(partial)
            try:
                source.backup(target)
                verdict = target.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                target.close()
        finally:
            source.close()
        if verdict != "ok":
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"the copy failed its integrity check: {verdict}")
        partial.replace(final)
        keep = int(spec.options["keep"])
        copies = sorted(folder.glob("vigil-*Z.db"))
        dropped = [p.name for p in copies[:-keep]] if len(copies) > keep else []
        for stale in copies[:-keep] if len(copies) > keep else []:
            stale.unlink(missing_ok=True)
        size = final.stat().st_size
        return {"path": str(final), "bytes": size, "integrity": verdict, "dropped": dropped}, []

    return run


def performance_report(place: ChorePlace) -> Work:
    def run(
        spec: ChoreSpec, now: datetime, previous: str | None
    ) -> tuple[dict[str, Any], list[Event]]:
        end = int(now.timestamp())
        week = 7 * 86400
        metrics: list[dict[str, Any]] = []
        if _table(place.db, "metric_rollups"):
            this = _merged(load_rollups(place.db, end - week, end))
            before = _merged(load_rollups(place.db, end - 2 * week, end - week))
            for key in sorted(this):
                current = summarize(this[key], week // 60, "timer")
                earlier = summarize(before.get(key), week // 60, "timer")
                metrics.append(
                    {
                        "name": key[0],
                        "labels": dict(key[1]),
                        "this_week": {k: current[k] for k in ("count", "p50", "p95", "p99")},
                        "last_week": {k: earlier[k] for k in ("count", "p50", "p95", "p99")},
                        "p99_change": _change(current["p99"], earlier["p99"]),
                    }
                )
        result = {"since": isoformat(now - timedelta(days=7)), "until": isoformat(now)}
        report = new_event(
            catalog.REPORT_PERFORMANCE,
            {**result, "metrics": metrics[:200]},
            clock=place.clock,
            source=SOURCE,
            subject="performance_report",
        )
        return {**result, "series": len(metrics)}, [report]

    return run


def _merged(rows: list[Any]) -> dict[tuple[str, Any], Any]:
    merged: dict[tuple[str, Any], Any] = {}
    for row in rows:
        if row.window.kind != "timer":
            continue
        key = (row.name, row.labels)
        if key in merged:
            merged[key].merge(row.window)
        else:
            merged[key] = row.window.copy()
    return merged


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round((now - before) / before * 100, 1)


WORK: dict[str, Callable[[ChorePlace], Work]] = {
    "status_report": status_report,
    "retention": retention,
    "log_cleanup": log_cleanup,
    "backup": backup,
    "performance_report": performance_report,
}
