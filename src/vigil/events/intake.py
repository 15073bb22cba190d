"""Intake: events that arrive from outside (HTTP requests) into the log, bounded and batched.

Each request hands over one *unit*: its events and, optionally, a *claim* that runs inside the
write transaction and decides which of them to keep (a webhook's delivery id seen before keeps
none; an alert that is still firing keeps none). A unit is all or nothing: its claim, its
events and any rows the claim writes commit together or not at all (a savepoint per unit, so one
bad unit fails alone). Units that arrive while a write is in flight are written together in the
next transaction (group commit): a burst of requests costs a few commits, not one each.

Flood control: at most ``capacity`` units wait to be written. Past that, :meth:`Intake.submit`
raises :class:`Saturated` at once (HTTP answers 503 with ``Retry-After``) instead of queueing
without bound, so a flood can neither exhaust memory nor crowd the durable consumers off the
database thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vigil.errors import BusError
from vigil.events.bus import EventBus
from vigil.events.model import Event

Claim = Callable[[sqlite3.Connection, Sequence[Event]], Sequence[Event]]
DEFAULT_CAPACITY = 2048
MAX_BATCH = 512


class Saturated(BusError):
    """Too many units wait to be written; come back after ``retry_after`` seconds."""

    def __init__(self, waiting: int, retry_after: float = 1.0) -> None:
        super().__init__(
            f"intake is full ({waiting} requests waiting); retry in {retry_after:g} s",
            waiting=waiting,
            retry_after=retry_after,
        )
        self.retry_after = retry_after


@dataclass(slots=True)
class _Unit:
    events: Sequence[Event]
    claim: Claim | None
    future: asyncio.Future[list[Event]] = field(repr=False)


class Intake:
    """Writes units for a running :class:`EventBus`'s log and wakes its consumers."""

    def __init__(
        self, bus: EventBus, *, capacity: int = DEFAULT_CAPACITY, max_batch: int = MAX_BATCH
    ) -> None:
        if capacity < 1 or max_batch < 1:
            raise ValueError("capacity and max_batch must be at least 1")
        self.bus = bus
        self.capacity = capacity
        self.max_batch = max_batch
        self.rejected = 0
        self.written = 0
        self._queue: deque[_Unit] = deque()
        self._in_flight = 0
        self._writer: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Units accepted and not yet committed."""
        return len(self._queue) + self._in_flight

    async def submit(self, events: Sequence[Event], claim: Claim | None = None) -> list[Event]:
        """Store ``events`` (those ``claim`` keeps) durably; returns the stored ones.

        Raises :class:`Saturated` when ``capacity`` units wait already. Once accepted, a unit is
        written even if the caller stops waiting (a client that hung up).
        """
        if self.waiting >= self.capacity:
            self.rejected += 1
            raise Saturated(self.waiting)
        future: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Unit(events, claim, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="intake:writer")
        # Not shielded on purpose: a caller that is cancelled cancels only its future; the unit
        # stays queued and is written all the same (the writer skips futures already done).
        return await future

    async def close(self) -> None:
        """Wait until every accepted unit is written."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            self._in_flight = len(batch)
            try:
                results = await self.bus.db.call(self._write, batch)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                for unit in batch:
                    if not unit.future.done():
                        unit.future.set_exception(exc)
                        unit.future.exception()  # a request that hung up must not warn
                continue
            finally:
                self._in_flight = 0
            kinds: set[str] = set()
            upto = 0
            for unit, result in zip(batch, results, strict=True):
                if not isinstance(result, BaseException):
                    kinds.update(event.type for event in result)
                    upto = max([upto, *(event.seq or 0 for event in result)])
                if unit.future.done():
                    continue
                if isinstance(result, BaseException):
                    unit.future.set_exception(result)
                    unit.future.exception()
                else:
                    self.written += len(result)
                    unit.future.set_result(result)
            if kinds:
                self.bus.wake(kinds, upto=upto)

    def _write(self, batch: Sequence[_Unit]) -> list[list[Event] | BaseException]:
        """One transaction for the batch. The common case has no failing unit: every claim
        runs, then every kept event is appended in one statement, with no savepoints. If a
        unit fails, the batch is rolled back and written again with a savepoint per unit, so
        the failing one fails alone."""
        try:
            return self._write_together(batch)
        except _UnitFailed:
            return self._write_isolated(batch)

    def _write_together(self, batch: Sequence[_Unit]) -> list[list[Event] | BaseException]:
        log = self.bus.log
        with self.bus.db.transaction() as conn:
            kept: list[list[Event]] = []
            try:
                for unit in batch:
                    kept.append(list(unit.claim(conn, unit.events) if unit.claim else unit.events))
                every = [e for events in kept for e in events]
                stored = log.append_in(conn, every) if every else []
            except sqlite3.OperationalError:
                raise  # the store's trouble (disk full, read-only): the whole batch fails
            except Exception as exc:  # some unit is bad: find it with savepoints
                raise _UnitFailed from exc
        results: list[list[Event] | BaseException] = []
        start = 0
        for events in kept:
            results.append(stored[start : start + len(events)])
            start += len(events)
        return results

    def _write_isolated(self, batch: Sequence[_Unit]) -> list[list[Event] | BaseException]:
        log = self.bus.log
        results: list[list[Event] | BaseException] = []
        with self.bus.db.transaction() as conn:
            for unit in batch:
                conn.execute("SAVEPOINT unit")
                try:
                    keep = unit.claim(conn, unit.events) if unit.claim else unit.events
                    stored = log.append_in(conn, list(keep)) if keep else []
                except sqlite3.OperationalError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one bad unit fails alone, it is returned
                    conn.execute("ROLLBACK TO unit")
                    conn.execute("RELEASE unit")
                    results.append(exc)
                    continue
                conn.execute("RELEASE unit")
                results.append(stored)
        return results


class _UnitFailed(Exception):
    """A unit failed in a batch written without savepoints: write it again, isolated."""
