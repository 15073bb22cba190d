"""Scheduled chores: what runs, when, and what the last run did.

Every chore has a slot: daily at a time of day (UTC), or weekly on a weekday at a time. A chore
is *due* when a slot has passed since its last run (or, for one that never ran, since the
daemon first saw it): a daemon that was down across three slots runs the chore once when it
starts again, not three times, and a fresh install does not run everything at its first start.

======================  =====================  ============================================
chore                   default slot (UTC)     does
======================  =====================  ============================================
``status_report``       daily 08:00            failed, fixed and pending since the last
                                               report -> ``report.status.created`` and a
                                               notification
``retention``           daily 03:00            events older than ``retention_days`` (90)
                                               compacted into per-day counts; knowledge,
                                               receipts and each command's newest pass kept
``log_cleanup``         daily 03:10            rotated logs older than ``log_days`` (14)
``backup``              daily 03:20            online copy (SQLite backup API), ``PRAGMA
                                               integrity_check`` on it, newest ``keep`` (7)
``performance_report``  weekly, Monday 08:00   p50/p95/p99 of the last 7 days against the
                                               7 before -> ``report.performance.created``
======================  =====================  ============================================

Config: ``[chores] enabled = false`` turns the daemon's scheduler off (``vigil chores run``
still works); per chore ``[chores.backup] at = "02:00"``, ``enabled = false``, ``keep = 3``;
``[chores.retention] retention_days = 30``; ``[chores.log_cleanup] log_days = 7``;
``[chores.performance_report] weekday = "friday"``.

Every run is stored (table ``chore_runs``, namespace ``chores``) and published as
``chore.run.completed`` or ``chore.run.failed`` (data ``name``, ``result``, ``elapsed_ms``,
``error``). Time comes only from the injected clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.clock import Clock, isoformat, parse_iso
from vigil.errors import ConfigError, NotFoundError, StorageError
from vigil.events import catalog
from vigil.events.model import Event, new_event
from vigil.storage import Database, apply_migrations, sql

DAY = 86400.0
WEEK = 7 * DAY
SOURCE = "vigil.chores"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MIGRATIONS = [
    sql(
        """CREATE TABLE chore_runs (
            name TEXT PRIMARY KEY,
            first_seen TEXT NOT NULL,
            last_run TEXT,
            last_ok INTEGER,
            last_result TEXT,
            last_error TEXT,
            last_elapsed_ms REAL,
            runs INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID"""
    )
]
Work = Callable[["ChoreSpec", datetime, str | None], tuple[dict[str, Any], list[Event]]]


@dataclass(frozen=True, slots=True)
class ChoreSpec:
    """A chore's schedule and options: daily at ``at``, or weekly on ``weekday`` at ``at``."""

    name: str
    at: str
    weekday: int | None = None  # 0 = Monday; None = daily
    enabled: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def period(self) -> float:
        return DAY if self.weekday is None else WEEK

    def describe(self) -> str:
        when = "daily" if self.weekday is None else f"weekly on {WEEKDAYS[self.weekday]}"
        return f"{when} at {self.at} UTC"

    def slot_before(self, moment: datetime) -> datetime:
        """The latest slot at or before ``moment``."""
        hour, minute = (int(x) for x in self.at.split(":"))
        day = moment.astimezone(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
        if self.weekday is not None:
            day -= timedelta(days=(day.weekday() - self.weekday) % 7)
        while day > moment:
            day -= timedelta(seconds=self.period)
        return day

    def next_slot(self, moment: datetime) -> datetime:
        """The first slot strictly after ``moment``."""
        return self.slot_before(moment) + timedelta(seconds=self.period)

    def due(self, reference: datetime, now: datetime) -> bool:
        """Whether a slot passed after ``reference`` (the last run) and at or before ``now``."""
        return self.slot_before(now) > reference


DEFAULTS: tuple[tuple[str, str, int | None, dict[str, Any]], ...] = (
    ("status_report", "08:00", None, {}),
    ("retention", "03:00", None, {"retention_days": 90}),
    ("log_cleanup", "03:10", None, {"log_days": 14}),
    ("backup", "03:20", None, {"keep": 7}),
    ("performance_report", "08:00", 0, {}),
)


def parse_chores(table: Mapping[str, Any]) -> tuple[bool, list[ChoreSpec]]:
    """``[chores]`` from config.toml: whether the scheduler runs, and every chore's spec."""
    names = {name for name, *_ in DEFAULTS}
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("config.toml: [chores] enabled must be true or false")
    unknown = sorted(set(table) - names - {"enabled"})
    if unknown:
        raise ConfigError(f"config.toml: [chores] has no chore {unknown[0]!r}")
    specs = []
    for name, at, weekday, options in DEFAULTS:
        own = table.get(name, {})
        where = f"config.toml [chores.{name}]"
        if not isinstance(own, dict):
            raise ConfigError(f"{where} must be a table")
        extra = sorted(set(own) - {"at", "enabled", "weekday", *options})
        if extra:
            raise ConfigError(f"{where}: unknown key {extra[0]!r}")
        slot = own.get("at", at)
        if not isinstance(slot, str) or not _AT.match(slot):
            raise ConfigError(f"{where}: at must be HH:MM (UTC)")
        day = weekday
        if "weekday" in own:
            if weekday is None or own["weekday"] not in WEEKDAYS:
                raise ConfigError(f"{where}: weekday must be a day name, for weekly chores")
            day = WEEKDAYS.index(own["weekday"])
        merged = dict(options)
        for key in options:
            if key in own:
                value = own[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{where}: {key} must be a positive integer")
                merged[key] = value
        on = own.get("enabled", True)
        if not isinstance(on, bool):
            raise ConfigError(f"{where}: enabled must be true or false")
        specs.append(ChoreSpec(name, slot, day, on, merged))
    return enabled, specs


@dataclass(frozen=True, slots=True)
class ChoreRun:
    name: str
    first_seen: str
    last_run: str | None
    last_ok: bool | None
    last_result: dict[str, Any] | None
    last_error: str | None
    last_elapsed_ms: float | None
    runs: int


class ChoreStore:
    """What each chore's last run did (table ``chore_runs``)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        apply_migrations(db, "chores", MIGRATIONS)

    def seen(self, names: Sequence[str], now: str) -> None:
        """Remember when each chore was first seen (its schedule starts there)."""
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO chore_runs (name, first_seen) VALUES (?, ?)",
                [(name, now) for name in names],
            )

    def get(self) -> dict[str, ChoreRun]:
        rows = self.db.query(
            "SELECT name, first_seen, last_run, last_ok, last_result, last_error,"
            " last_elapsed_ms, runs FROM chore_runs"
        )
        return {
            r[0]: ChoreRun(
                r[0],
                r[1],
                r[2],
                None if r[3] is None else bool(r[3]),
                None if r[4] is None else json.loads(r[4]),
                r[5],
                r[6],
                int(r[7]),
            )
            for r in rows
        }

    def record(
        self,
        name: str,
        when: str,
        ok: bool,
        result: Mapping[str, Any] | None,
        error: str | None,
        elapsed_ms: float,
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO chore_runs (name, first_seen) VALUES (?, ?)", (name, when)
            )
            conn.execute(
                "UPDATE chore_runs SET last_run = ?, last_ok = ?, last_result = ?,"
                " last_error = ?, last_elapsed_ms = ?, runs = runs + 1 WHERE name = ?",
                (
                    when,
                    int(ok),
                    None if result is None else json.dumps(result, default=str),
                    error,
                    round(elapsed_ms, 3),
                    name,
                ),
            )


class Chores:
    """Runs chores and knows which are due (sync; the daemon calls it from a thread)."""

    def __init__(
        self,
        specs: Sequence[ChoreSpec],
        work: Mapping[str, Work],
        store: ChoreStore,
        clock: Clock,
    ) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.work = work
        self.store = store
        self.clock = clock
        try:
            store.seen(list(self.specs), isoformat(clock.now()))
        except StorageError:
            pass  # a read-only or full disk: the schedule starts when it can be written

    def spec(self, name: str) -> ChoreSpec:
        spec = self.specs.get(name)
        if spec is None:
            raise NotFoundError(f"no chore called {name!r} (one of {', '.join(self.specs)})")
        return spec

    def due(self) -> list[str]:
        """The enabled chores a slot has passed for since they last ran."""
        now = self.clock.now()
        runs = self.store.get()
        due = []
        for name, spec in self.specs.items():
            run = runs.get(name)
            if not spec.enabled or run is None:
                continue
            reference = parse_iso(run.last_run or run.first_seen)
            if spec.due(reference, now):
                due.append(name)
        return due

    def next_due(self) -> datetime | None:
        """When the next slot of an enabled chore comes."""
        now = self.clock.now()
        slots = [spec.next_slot(now) for spec in self.specs.values() if spec.enabled]
        return min(slots) if slots else None

    def run(self, name: str) -> tuple[bool, dict[str, Any], list[Event]]:
        """Run one chore now; returns ok, the result (or error) and the events to publish."""
        spec = self.spec(name)
        runs = self.store.get()
        previous = runs[name].last_run if name in runs else None
        started = self.clock.monotonic()
        now = self.clock.now()
        error: str | None = None
        result: dict[str, Any] = {}
        events: list[Event] = []
        try:
            result, events = self.work[name](spec, now, previous)
        except Exception as exc:  # noqa: BLE001 - a chore's failure is recorded, never fatal
            error = f"{type(exc).__name__}: {exc}"
        elapsed = (self.clock.monotonic() - started) * 1000
        ok = error is None
        self.store.record(name, isoformat(now), ok, result if ok else None, error, elapsed)
        data = {"name": name, "result": result, "elapsed_ms": round(elapsed, 3), "error": error}
        kind = catalog.CHORE_COMPLETED if ok else catalog.CHORE_FAILED
        done = new_event(kind, data, clock=self.clock, source=SOURCE, subject=name)
        return ok, result if ok else {"error": error}, [done, *events]

    def listing(self) -> list[dict[str, Any]]:
        """Every chore with its schedule, last run and next run (``vigil chores``)."""
        now = self.clock.now()
        runs = self.store.get()
        rows = []
        for name, spec in self.specs.items():
            run = runs.get(name)
            rows.append(
                {
                    "name": name,
                    "schedule": spec.describe(),
                    "enabled": spec.enabled,
                    "last_run": run.last_run if run else None,
                    "ok": run.last_ok if run else None,
                    "result": run.last_result if run else None,
                    "error": run.last_error if run else None,
                    "elapsed_ms": run.last_elapsed_ms if run else None,
                    "runs": run.runs if run else 0,
                    "next_run": isoformat(spec.next_slot(now)) if spec.enabled else None,
                    "due": bool(
                        spec.enabled
                        and run
                        and spec.due(parse_iso(run.last_run or run.first_seen), now)
                    ),
                }
            )
        return rows
