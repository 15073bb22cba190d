"""A circuit breaker's shared state: reading the stored row, writing transitions and counts.

With a :class:`~vigil.reliability.breaker_store.BreakerStore` the breaker reads its row when it
is built (so a new CLI process sees an open breaker, or the failures, other processes recorded)
and then at most every ``sync_interval`` seconds on the call path. The counts it opens by are
shared, so short processes that each see a failure or two of a dead dependency open its breaker
together. While closed, a breaker keeps a *view*: the stored counts as last read or written,
plus its own outcomes not written yet. It writes them (intent ``count``: the store adds them to
its counts, then decides on the total whether to open):

- on every counted failure (slow and overdue calls included);
- on a success while the view's consecutive count is non-zero: one write resets it; then the
  view is clean and successes write nothing. So a success does not reset a count another
  process wrote since this one last read the store, until its next sync (``sync_interval``);
- on a window success while the view's window holds a failure, at most once per
  ``sync_interval`` (the rest go with the next write), or at once if the view's rate says
  open. Window successes seen while it holds none only go with the next write
  (:meth:`~vigil.reliability.breaker_policy.Counts.add`): a process's last few may never count.

Transitions are decided by the breaker and written the same way (the store's docstring says how
concurrent writers are reconciled), except closed -> open: this process takes the store's answer
to ``count``. Writes are made synchronously from ``call``, and on the database's own thread from
``acall``, so the event loop never waits for SQLite. If the database cannot be read or written,
the breaker logs it once per failure and carries on in memory, deciding on its view. Without a
store a breaker lives in memory only and none of this applies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from vigil.errors import StorageError
from vigil.reliability.breaker_machine import BreakerMachine, _log
from vigil.reliability.breaker_policy import Outcomes, State
from vigil.reliability.breaker_store import BreakerRecord, BreakerStore, plan


class StoreSync(BreakerMachine):
    """The store half of a breaker: read, adopt, write (see the module docstring)."""

    __slots__ = ()

    def _read(self, store: BreakerStore) -> BreakerRecord | None:
        try:
            return store.get(self.name)
        except StorageError as exc:
            _log.warning("circuit breaker %s: cannot read its stored state: %s", self.name, exc)
            return None

    def _adopt(self, record: BreakerRecord | None, epoch: int) -> None:
        if record is None or record.version == self._version:
            return
        with self._lock:
            if self._epoch == epoch and self._pending is None and record.version != self._version:
                self._apply(record, ours=False)

    def _sync(self, store: BreakerStore) -> None:
        """Read the stored row (another process may have changed it) and adopt it."""
        self._next_sync = self._mono() + self._sync_interval
        epoch = self._epoch
        self._adopt(self._read(store), epoch)

    async def _async(self, store: BreakerStore) -> None:
        """:meth:`_sync` with the read on the database's thread."""
        self._next_sync = self._mono() + self._sync_interval
        epoch = self._epoch
        self._adopt(await store.db.call(self._read, store), epoch)

    def _flush(self) -> None:
        """Write the latest local transition, then any outcomes counted since, to the store."""
        store = self._store
        if store is None or (self._pending is None and not self._count_due):
            return
        with self._write_lock:  # writes leave this process in the order they were made
            for _ in range(2):
                taken = self._take_pending()
                if taken is None:
                    return
                news, decide = taken
                try:
                    record, written = store.update(self.name, decide)
                except StorageError as exc:
                    _log.warning("circuit breaker %s: cannot store its state: %s", self.name, exc)
                    if news is not None:
                        self._alone(news.last)
                    return
                if news is not None:
                    self._next_write = self._mono() + self._sync_interval
                if record is not None:
                    self._written(record, ours=written)

    def _take_pending(self) -> tuple[Outcomes | None, Callable[..., BreakerRecord | None]] | None:
        """What to write, a transition first (then ``count``: the outcomes it adds), and how to
        decide the row against the stored one (:func:`plan`, given what this breaker knew)."""
        with self._lock:
            news = None
            if self._pending is not None:
                (intent, reason, failures), self._pending = self._pending, None
            elif self._count_due:
                intent, reason, failures = "count", self._reason, self._failures
                news, self._count_due = self._outbox.take(), False
            else:
                return None
            self._epoch += 1  # a read that raced this write must not be adopted over it
            return news, functools.partial(
                plan,
                intent,
                name=self.name,
                policy=self.policy,
                seen=self._version,
                openings=self._openings,
                failures=failures,
                reason=reason,
                now=self._wall(),
                news=news,
                since=self._changed_at,
            )

    def _alone(self, last: str) -> None:
        """The store could not count this process's outcomes: decide on the view instead."""
        with self._lock:
            window = self._ring or self._buckets
            rate = window.rate() if window is not None else None
            limit = self.policy.failures
            if self._state is not State.CLOSED:
                return
            if limit is not None and self._failures >= limit:
                self._open(self._mono(), f"{self._failures} consecutive failures, last: {last}")
            elif window is not None and rate is not None and rate >= window.policy.threshold:
                self._open(self._mono(), f"failure rate {rate:.0%} over {window.calls} calls")

    def _written(self, record: BreakerRecord, *, ours: bool) -> None:
        """The store answered a write: adopt its row unless a newer local change is pending."""
        with self._lock:
            self._epoch += 1
            if self._pending is None:
                self._apply(record, ours=ours)
            else:
                self._version = record.version  # the newer local change will overwrite it

    async def _aflush(self) -> None:
        if self._store is not None and (self._pending is not None or self._count_due):
            await self._store.db.call(self._flush)
