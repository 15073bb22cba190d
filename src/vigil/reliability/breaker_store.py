"""Where circuit breakers keep their state, so that every Vigil process on the machine shares it.

One row per breaker name in the ``breakers`` table (migration namespace ``breakers``)::

    name         the breaker's name (primary key)
    state        closed | open | half-open
    open_until   wall-clock epoch seconds until which it is open (NULL unless open)
    probe_until  half-open only: when the probing process's lease ends (NULL otherwise)
    openings     openings in a row (the open period grows with it)
    failures     closed: consecutive counted failures, summed over every process; otherwise
                 the count when it opened
    reason       why the state last changed, one line
    changed_at   wall-clock epoch seconds of the last state change (not of a count)
    version      bumped on every write, so a reader knows whether anything changed
    rate_window  closed: the failure-rate window shared by every process, in the window's text
                 form (``Counts.window``); '' without a window or when not closed

Times are wall-clock epoch seconds because processes do not share a monotonic clock; each breaker
converts them to its own monotonic clock when it reads a row. Reports render them as ISO 8601.

Writes happen on state transitions and on counted outcomes while closed (intent ``count``: a
failure, the success that resets a non-zero count, window successes; see
:mod:`vigil.reliability.breaker` for which successes write). Every write goes through
:meth:`BreakerStore.update`, a read-decide-write inside one ``BEGIN IMMEDIATE`` transaction, so
two processes that change the same breaker at once never lose each other's change: the second
one decides against the first one's row (:func:`plan`). Counted outcomes are *added* to the
stored counts, so failures seen by different processes add up, and whether the breaker opens is
decided on the stored total. The half-open lease is how processes share probing: the process
whose write moved the breaker to half-open probes; the others refuse calls until it reports, or
until its lease (``probe_timeout``) runs out and one of them takes over.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from vigil.clock import isoformat
from vigil.errors import StorageError
from vigil.reliability.breaker_policy import BreakerPolicy, Counts, Outcomes, State
from vigil.storage import Database, Migration, apply_migrations, sql

Intent = Literal["open", "claim", "close", "reset", "count"]

MIGRATIONS: list[Migration] = [
    sql(
        """
        CREATE TABLE breakers (
            name TEXT PRIMARY KEY,
            state TEXT NOT NULL CHECK (state IN ('closed', 'open', 'half-open')),
            open_until REAL,
            probe_until REAL,
            openings INTEGER NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            reason TEXT NOT NULL DEFAULT '',
            changed_at REAL NOT NULL,
            version INTEGER NOT NULL DEFAULT 1
        )
        """
    ),
    sql("ALTER TABLE breakers ADD COLUMN rate_window TEXT NOT NULL DEFAULT ''"),
]

_COLUMNS = (
    "name, state, open_until, probe_until, openings, failures, reason, changed_at, version, "
    "rate_window"
)


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    """One stored breaker (times are wall-clock epoch seconds)."""

    name: str
    state: State
    open_until: float | None
    probe_until: float | None
    openings: int
    failures: int
    reason: str
    changed_at: float
    version: int = 0
    rate_window: str = ""

    def to_report(self, now: float, stable_after: float) -> dict[str, Any]:
        """The health-report shape (ISO times; openings already forgiven count as 0)."""
        openings = self.openings
        if self.state is State.CLOSED and now - self.changed_at >= stable_after:
            openings = 0
        return {
            "name": self.name,
            "state": str(self.state),
            "failures": self.failures,
            "openings": openings,
            "open_until": epoch_iso(self.open_until) if self.state is State.OPEN else None,
            "last_change": epoch_iso(self.changed_at),
            "reason": self.reason,
        }


def epoch_iso(epoch: float | None) -> str | None:
    """Wall-clock epoch seconds as Vigil's ISO 8601 UTC string (None stays None)."""
    return None if epoch is None else isoformat(datetime.fromtimestamp(epoch, UTC))


def _record(row: sqlite3.Row | tuple[Any, ...]) -> BreakerRecord:
    values = tuple(row)
    return BreakerRecord(values[0], State(values[1]), *values[2:])


class BreakerStore:
    """Breaker rows in the state database; see the module docstring for the table."""

    def __init__(self, db: Database) -> None:
        self.db = db
        apply_migrations(db, "breakers", MIGRATIONS)

    def get(self, name: str) -> BreakerRecord | None:
        try:
            row = self.db.query_one(f"SELECT {_COLUMNS} FROM breakers WHERE name = ?", (name,))
        except sqlite3.Error as exc:  # e.g. a closed connection (StorageError passes through)
            raise self._error(f"cannot read breaker {name!r}", exc) from exc
        return None if row is None else _record(row)

    def all(self) -> list[BreakerRecord]:
        try:
            rows = self.db.query(f"SELECT {_COLUMNS} FROM breakers ORDER BY name")
        except sqlite3.Error as exc:
            raise self._error("cannot read the breakers", exc) from exc
        return [_record(r) for r in rows]

    def _error(self, what: str, exc: sqlite3.Error) -> StorageError:
        return StorageError(
            f"state database {self.db.path}: {what}: {exc}", path=str(self.db.path), sqlite=str(exc)
        )

    def snapshot(self, now: float, stable_after: float = 60.0) -> list[dict[str, Any]]:
        """Every stored breaker in the health-report shape (``now``: wall-clock epoch seconds)."""
        return [record.to_report(now, stable_after) for record in self.all()]

    def update(
        self, name: str, decide: Callable[[BreakerRecord | None], BreakerRecord | None]
    ) -> tuple[BreakerRecord | None, bool]:
        """Read ``name``'s row, let ``decide`` return the row to write (or None: keep it), write.

        Atomic across processes. Returns the row now stored and whether ``decide``'s row was
        written (``version`` is set here: one more than the row it replaced).
        """
        try:
            return self._update(name, decide)
        except sqlite3.Error as exc:  # the transaction translates BEGIN/COMMIT; this the rest
            raise self._error(f"cannot store breaker {name!r}", exc) from exc

    def _update(
        self, name: str, decide: Callable[[BreakerRecord | None], BreakerRecord | None]
    ) -> tuple[BreakerRecord | None, bool]:
        with self.db.transaction() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM breakers WHERE name = ?", (name,)
            ).fetchone()
            current = None if row is None else _record(row)
            wanted = decide(current)
            if wanted is None:
                return current, False
            stored = replace(wanted, name=name, version=(current.version if current else 0) + 1)
            conn.execute(
                f"INSERT OR REPLACE INTO breakers ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stored.name,
                    str(stored.state),
                    stored.open_until,
                    stored.probe_until,
                    stored.openings,
                    stored.failures,
                    stored.reason,
                    stored.changed_at,
                    stored.version,
                    stored.rate_window,
                ),
            )
            return stored, True


def plan(
    intent: Intent,
    current: BreakerRecord | None,
    *,
    name: str,
    policy: BreakerPolicy,
    seen: int,
    openings: int,
    failures: int,
    reason: str,
    now: float,
    news: Outcomes | None = None,
    since: float = 0.0,
) -> BreakerRecord | None:
    """The row a breaker should write for ``intent``, given the row stored now (None: keep it).

    ``seen`` is the version the breaker last read or wrote; a different stored version means
    another process changed the breaker since. ``openings`` is the breaker's own count
    (including this opening, for ``open``), used only when nothing is stored. ``now`` is
    wall-clock epoch seconds.

    - ``count`` (closed): add ``news``, this breaker's unwritten outcomes, to the stored counts
      and open if the total says so (reason: the total, e.g. ``4 consecutive failures``). If
      another process opened it or probes it meanwhile, write nothing: the outcomes belong to
      a closed period that is over. With no row yet, the breaker's own ``openings``, ``reason``
      and ``since`` (when its closed period began) make the closed row the outcomes add to.
    - ``open``: if another process already opened it (or holds a live probe lease), keep theirs
      instead of counting the same outage twice; otherwise open for the next, longer period
      (counting from zero if it had stayed closed for ``stable_after``).
    - ``claim`` (open -> half-open): take the probe lease unless another process opened it again,
      closed it, or holds a lease that has not run out.
    - ``close``: close unless it is already closed.
    - ``reset``: closed, with no openings remembered.
    """
    foreign = current is not None and current.version != seen
    if intent == "count":
        return _count(current, name, policy, openings, reason, now, news or Outcomes(), since)
    if intent == "open":
        if current is not None and foreign:
            if current.state is State.OPEN and (current.open_until or 0.0) > now:
                return None
            if current.state is State.HALF_OPEN and (current.probe_until or 0.0) > now:
                return None
        if current is None:
            count = openings
        elif current.state is State.CLOSED and now - current.changed_at >= policy.stable_after:
            count = 1
        else:
            count = current.openings + 1
        until = now + policy.open_period(count)
        return BreakerRecord(name, State.OPEN, until, None, count, failures, reason, now)
    if intent == "claim":
        if (
            current is None
            or not foreign
            or (current.state is State.OPEN and (current.open_until or 0.0) <= now)
            or (current.state is State.HALF_OPEN and (current.probe_until or 0.0) <= now)
        ):
            count = openings if current is None else current.openings
            lease = now + policy.probe_timeout
            return BreakerRecord(name, State.HALF_OPEN, None, lease, count, 0, reason, now)
        return None
    if intent == "close":
        if current is not None and current.state is State.CLOSED:
            return None
        count = openings if current is None else current.openings
        return BreakerRecord(name, State.CLOSED, None, None, count, 0, reason, now)
    return BreakerRecord(name, State.CLOSED, None, None, 0, 0, reason, now)


def _count(
    current: BreakerRecord | None,
    name: str,
    policy: BreakerPolicy,
    openings: int,
    reason: str,
    now: float,
    news: Outcomes,
    since: float,
) -> BreakerRecord | None:
    if current is not None and current.state is not State.CLOSED:
        return None
    base = current or BreakerRecord(name, State.CLOSED, None, None, openings, 0, reason, since)
    counts = Counts(policy, base.failures, base.rate_window)
    why = counts.add(news, now)
    if why is None:
        window = counts.window()
        if counts.failures == base.failures and window == base.rate_window:
            return None  # nothing changed (e.g. a reset another process already wrote)
        return replace(base, failures=counts.failures, rate_window=window)
    count = 1 if now - base.changed_at >= policy.stable_after else base.openings + 1
    until = now + policy.open_period(count)
    return BreakerRecord(name, State.OPEN, until, None, count, counts.failures, why, now)
