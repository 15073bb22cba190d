"""Circuit breakers: stop calling a dependency that keeps failing, probe it, resume when it answers.

States and transitions::

    closed ──(failures consecutive failures, or the window's failure rate)──▶ open
    open ──(open period over; the next call becomes a probe)──▶ half-open
    half-open ──(close_after probes succeed)──▶ closed
    half-open ──(a probe fails, is slow, or outlives probe_timeout)──▶ open, for longer

A counted failure is an exception in ``policy.counted`` and not in ``policy.ignored``, a call over
``policy.slow_call`` (outcome ``slow``), or a call over ``policy.timeout``. Any other exception
passes through and changes nothing. While open, calls are refused with
:class:`~vigil.errors.CircuitOpen` (it carries ``retry_after``), or answered by
``fallback(*args, **kwargs)`` when the breaker has one.

**The closed happy path** is a few attribute reads: no lock, no allocation, and no clock read
unless something needs one (``slow_call``/``timeout``, a :class:`TimeWindow`, ``on_call`` hooks,
or, with a store, one monotonic comparison that says whether ``sync_interval`` has passed). A
success after failures, every failure and every call in any other state take a slow path that
holds ``self._lock`` (an ``RLock``), so transitions are consistent across threads; async calls
never await while holding it.

**Probes and hangs.** Half-open admits ``half_open_probes`` concurrent probes; other calls are
refused at once. An async probe runs under ``asyncio.timeout(probe_timeout)`` (and closed async
calls under ``policy.timeout``) on the event loop's clock; expiry is a failure whatever
``counted`` says. A thread cannot be interrupted, so a *sync* probe is measured after the fact:
one that returns after ``probe_timeout`` counts as failed. So that a sync probe that never
returns cannot hold the breaker half-open, the next call after ``probe_timeout`` reclaims its
slot: the hung probe counts as failed, the breaker re-opens for the next, longer period, and
when that is over another probe goes. The hung call's eventual result is ignored.

**Shared state.** With a :class:`~vigil.reliability.breaker_store.BreakerStore` the breaker
reads its row when it is built (so a new CLI process sees an open breaker, or the failures,
other processes recorded) and then at most every ``sync_interval`` seconds on the call path.
The counts it opens by are shared, so short processes that each see a failure or two of a dead
dependency open its breaker together. While closed, a breaker keeps a *view*: the stored counts
as last read or written, plus its own outcomes not written yet. It writes them (intent
``count``: the store adds them to its counts, then decides on the total whether to open):

- on every counted failure (slow and overdue calls included);
- on a success while the view's consecutive count is non-zero: one write resets it; then the
  view is clean and successes write nothing. So a success does not reset a count another
  process wrote since this one last read the store, until its next sync (``sync_interval``);
- on a window success while the view's window holds a failure, at most once per
  ``sync_interval`` (the rest go with the next write), or at once if the view's rate says
  open. Window successes seen while it holds none only go with the next write
  (:meth:`~vigil.reliability.breaker_policy.Counts.add`): a process's last few may never count.

Transitions are decided here and written the same way (the store's docstring says how
concurrent writers are reconciled), except closed -> open: this process takes the store's
answer to ``count``. Writes are made synchronously from ``call``, and on the database's own
thread from ``acall``, so the event loop never waits for SQLite. If the database cannot be
read or written, the breaker logs it once per failure and carries on in memory, deciding on
its view. Without a store a breaker lives in memory only and none of this applies.

**Hooks.** ``on_change(hook)`` registers ``hook(name, old_state, new_state, reason)``, called on
every state change, including one learnt from the store (its reason then starts with
``synced:``); ``on_call(hook)`` registers ``hook(name, outcome, seconds)`` with outcome one of
``success``, ``failure``, ``slow``, ``rejected`` or ``ignored`` (an exception that does not
count). Each hook is guarded: one that raises is logged and the others still run. Change hooks
run under the breaker's lock on the thread where the transition happened (the caller's, or the
database thread for a transition learnt while writing from ``acall``): keep them quick, and hand
work to an event loop with ``call_soon_threadsafe``.

This module is over 400 lines because the sync and async call paths must stay side by side,
and next to the state machine whose fields they read without the lock.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

from vigil.clock import Clock, SystemClock
from vigil.errors import CircuitOpen, StorageError
from vigil.reliability.breaker_policy import (
    BreakerPolicy,
    CountRing,
    Counts,
    CountWindow,
    Outbox,
    Outcomes,
    State,
    TimeBuckets,
    TimeWindow,
)
from vigil.reliability.breaker_store import BreakerRecord, BreakerStore, Intent, epoch_iso, plan

P = ParamSpec("P")
T = TypeVar("T")

ChangeHook = Callable[[str, str, str, str], None]
CallHook = Callable[[str, str, float], None]

_log = logging.getLogger(__name__)

_REJECTED = -1  # tickets: -1 refused, 0 a call in the closed state, > 0 a half-open probe
_NORMAL = 0


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ").strip().rstrip(":")
    return text if len(text) <= 200 else text[:197] + "..."


def _guarded(hooks: tuple[Callable[..., None], ...], *args: Any) -> None:
    for hook in hooks:
        try:
            hook(*args)
        except Exception:  # noqa: BLE001 -- isolation: one bad hook must not break the call
            _log.exception("circuit breaker hook %r failed", hook)


class CircuitBreaker:
    """One named breaker; see the module docstring."""

    __slots__ = (
        "__weakref__",
        "_buckets",
        "_call_hooks",
        "_change_hooks",
        "_changed_at",
        "_clock",
        "_closed_at",
        "_count_due",
        "_dirty",
        "_epoch",
        "_failures",
        "_fallback",
        "_fast",
        "_lease_mine",
        "_lease_until",
        "_lock",
        "_mono",
        "_next_sync",
        "_next_write",
        "_open_until",
        "_opened_at",
        "_openings",
        "_outbox",
        "_pending",
        "_probe_ok",
        "_probes",
        "_reason",
        "_ring",
        "_state",
        "_store",
        "_sync_interval",
        "_tickets",
        "_timed",
        "_version",
        "_write_lock",
        "name",
        "policy",
    )

    def __init__(
        self,
        name: str,
        policy: BreakerPolicy | None = None,
        *,
        clock: Clock | None = None,
        store: BreakerStore | None = None,
        fallback: Callable[..., Any] | None = None,
        sync_interval: float = 1.0,
    ) -> None:
        self.name = name
        self.policy = policy = policy if policy is not None else BreakerPolicy()
        self._clock: Clock = clock if clock is not None else SystemClock()
        # SystemClock.monotonic is time.monotonic: bind the C function itself and save the
        # hot path a Python frame (the store gate reads it on every call).
        self._mono = time.monotonic if type(self._clock) is SystemClock else self._clock.monotonic
        self._store = store
        self._fallback = fallback
        self._sync_interval = sync_interval
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._state = State.CLOSED
        self._failures = 0
        self._openings = 0
        self._open_until = 0.0
        self._opened_at = 0.0
        self._lease_until = 0.0
        self._lease_mine = False
        self._probes: dict[int, float] = {}  # ticket -> monotonic start
        self._tickets = 0
        self._probe_ok = 0
        self._closed_at = -math.inf  # monotonic; -inf: closed "forever", openings forgiven
        self._changed_at = self._wall()
        self._reason = "created"
        window = policy.window
        self._ring = CountRing(window) if isinstance(window, CountWindow) else None
        self._buckets = TimeBuckets(window) if isinstance(window, TimeWindow) else None
        self._version = 0  # the store row's version this breaker last read or wrote
        self._epoch = 0  # bumped on every local change, so a stale read is never applied
        self._pending: tuple[Intent, str, int] | None = None  # a transition not yet written
        self._outbox = Outbox(window)  # with a store, while closed: what it has not heard of
        self._count_due = False  # a ``count`` write is due
        self._next_write = -math.inf  # monotonic: window successes write again from then
        self._change_hooks: tuple[ChangeHook, ...] = ()
        self._call_hooks: tuple[CallHook, ...] = ()
        self._next_sync = math.inf
        self._refresh()
        if store is not None:
            record = self._read(store)
            if record is not None:
                with self._lock:
                    self._apply(record, ours=False)
            self._next_sync = self._mono() + sync_interval

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self._state.value}>"

    # -- reading ---------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def failures(self) -> int:
        """Consecutive counted failures in the current closed period."""
        return self._failures

    @property
    def openings(self) -> int:
        """Openings in a row (the open period grows with them)."""
        return self._openings

    def retry_after(self) -> float:
        """Seconds until this breaker would let a call through (0 when it would now)."""
        with self._lock:
            return self._wait(self._mono())

    def snapshot(self) -> dict[str, Any]:
        """This breaker in the health-report shape (see ``BreakerRegistry.snapshot``)."""
        with self._lock:
            now, wall = self._mono(), self._wall()
            openings = self._openings
            if self._state is State.CLOSED and now - self._closed_at >= self.policy.stable_after:
                openings = 0
            open_until = None
            if self._state is State.OPEN:
                open_until = epoch_iso(wall + (self._open_until - now))
            return {
                "name": self.name,
                "state": self._state.value,
                "failures": self._failures,
                "openings": openings,
                "open_until": open_until,
                "last_change": epoch_iso(self._changed_at),
                "reason": self._reason,
            }

    # -- hooks -----------------------------------------------------------------------------------

    def on_change(self, hook: ChangeHook) -> Callable[[], None]:
        """Call ``hook(name, old_state, new_state, reason)`` on each change; returns unsubscribe."""
        with self._lock:
            self._change_hooks = (*self._change_hooks, hook)

        def unsubscribe() -> None:
            with self._lock:
                self._change_hooks = _without(self._change_hooks, hook)

        return unsubscribe

    def on_call(self, hook: CallHook) -> Callable[[], None]:
        """Call ``hook(name, outcome, seconds)`` after every call; returns unsubscribe.

        With a call hook registered every call is timed, so the fast path reads the clock.
        """
        with self._lock:
            self._call_hooks = (*self._call_hooks, hook)
            self._refresh()

        def unsubscribe() -> None:
            with self._lock:
                self._call_hooks = _without(self._call_hooks, hook)
                self._refresh()

        return unsubscribe

    # -- calling ---------------------------------------------------------------------------------

    def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` through the breaker."""
        if self._fast and (self._store is None or self._mono() < self._next_sync):
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                if self.policy.counts(exc) and self._settle_closed(True, _describe(exc)):
                    self._flush()
                raise
            if self._dirty and self._settle_closed(False, ""):
                self._flush()
            return result
        return self._call(fn, args, kwargs)

    async def acall(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``await fn(*args, **kwargs)`` through the breaker."""
        if self._fast and (self._store is None or self._mono() < self._next_sync):
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                if self.policy.counts(exc) and self._settle_closed(True, _describe(exc)):
                    await self._aflush()
                raise
            if self._dirty and self._settle_closed(False, ""):
                await self._aflush()
            return result
        return await self._acall(fn, args, kwargs)

    def __call__(self, fn: Callable[P, T]) -> Callable[P, T]:
        """Decorate a function (sync or ``async def``) so every call goes through the breaker."""
        import inspect  # here, not at the top: importing the breaker stays cheap for the CLI

        if inspect.iscoroutinefunction(fn):
            coroutine_fn = cast(Callable[..., Awaitable[Any]], fn)

            @functools.wraps(fn)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                return await self.acall(coroutine_fn, *args, **kwargs)

            return cast(Callable[P, T], guarded_async)

        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.call(fn, *args, **kwargs)

        return guarded

    def reset(self, reason: str = "reset by hand") -> None:
        """Close the breaker and forget its openings (an operator's override)."""
        with self._lock:
            self._openings = 0
            self._closed_at = -math.inf
            self._enter(State.CLOSED, reason, "reset")
        self._flush()

    # -- the slow paths --------------------------------------------------------------------------

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        store = self._store
        if store is not None and self._mono() >= self._next_sync:
            self._sync(store)
        ticket, wait, flush = (_NORMAL, 0.0, False) if self._closed() else self._admit()
        if flush:
            self._flush()
            ticket, wait = self._confirm(ticket)
        if ticket == _REJECTED:
            self._report("rejected", 0.0)
            if self._fallback is not None:
                return cast(T, self._fallback(*args, **kwargs))
            raise CircuitOpen(self.name, wait)
        start = self._mono()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            flush, outcome, elapsed = self._done(ticket, start, exc, timed_out=False)
            if flush:
                self._flush()
            self._report(outcome, elapsed)
            raise
        flush, outcome, elapsed = self._done(ticket, start, None, timed_out=False)
        if flush:
            self._flush()
        self._report(outcome, elapsed)
        return result

    async def _acall(
        self, fn: Callable[..., Awaitable[T]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        store = self._store
        if store is not None and self._mono() >= self._next_sync:
            await self._async(store)
        ticket, wait, flush = (_NORMAL, 0.0, False) if self._closed() else self._admit()
        if flush:
            await self._aflush()
            ticket, wait = self._confirm(ticket)
        if ticket == _REJECTED:
            self._report("rejected", 0.0)
            if self._fallback is not None:
                value = self._fallback(*args, **kwargs)
                if hasattr(value, "__await__"):
                    value = await value
                return cast(T, value)
            raise CircuitOpen(self.name, wait)
        limit = self.policy.probe_timeout if ticket > 0 else self.policy.timeout
        deadline = None
        if limit is not None:
            import asyncio  # loaded already in any async caller; the sync CLI never pays for it

            deadline = asyncio.timeout(limit)
        start = self._mono()
        try:
            if deadline is None:
                result = await fn(*args, **kwargs)
            else:
                async with deadline:
                    result = await fn(*args, **kwargs)
        except BaseException as exc:
            timed_out = deadline is not None and deadline.expired()
            flush, outcome, elapsed = self._done(ticket, start, exc, timed_out=timed_out)
            if flush:
                await self._aflush()
            self._report(outcome, elapsed)
            raise
        flush, outcome, elapsed = self._done(ticket, start, None, timed_out=False)
        if flush:
            await self._aflush()
        self._report(outcome, elapsed)
        return result

    def _closed(self) -> bool:
        """Closed, and no time window to feed: a timed call needs no admission lock."""
        return self._state is State.CLOSED and self._buckets is None

    def _settle_closed(self, failed: bool, why: str) -> bool:
        """A fast-path call ended (a failure, or a success after failures); True: write needed."""
        with self._lock:
            self._finish(_NORMAL, failed, why, self._mono())
            return self._pending is not None or self._count_due

    def _admit(self) -> tuple[int, float, bool]:
        """Let a call in or not: (ticket, seconds to wait if refused, a write is pending)."""
        with self._lock:
            now = self._mono()
            ticket = self._ticket(now)
            wait = self._wait(now) if ticket == _REJECTED else 0.0
            return ticket, wait, self._pending is not None or self._count_due

    def _confirm(self, ticket: int) -> tuple[int, float]:
        """After writing a claim: is the probe still ours (the store may say another probes)?"""
        with self._lock:
            if ticket > 0 and ticket not in self._probes:
                ticket = _REJECTED
            return ticket, (self._wait(self._mono()) if ticket == _REJECTED else 0.0)

    def _done(
        self, ticket: int, start: float, exc: BaseException | None, *, timed_out: bool
    ) -> tuple[bool, str, float]:
        """Classify a finished call and account for it: (write pending, outcome, seconds)."""
        now = self._mono()
        elapsed = now - start
        policy = self.policy
        failed: bool | None
        if timed_out:
            failed, outcome, why = True, "failure", f"timed out after {elapsed:.3g} s"
        elif exc is not None:
            if policy.counts(exc):
                failed, outcome, why = True, "failure", _describe(exc)
            else:
                failed, outcome, why = None, "ignored", ""
        else:
            limit = policy.probe_timeout if ticket > 0 else policy.timeout
            if limit is not None and elapsed > limit:
                why = f"took {elapsed:.3g} s, over the {limit:g} s timeout"
                failed, outcome = True, "failure"
            elif policy.slow_call is not None and elapsed > policy.slow_call:
                why = f"slow call: {elapsed:.3g} s, over {policy.slow_call:g} s"
                failed, outcome = True, "slow"
            else:
                failed, outcome, why = False, "success", ""
                if ticket == _NORMAL and not self._dirty and self._buckets is None:
                    return False, outcome, elapsed  # a success that changes nothing: no lock
        with self._lock:
            self._finish(ticket, failed, why, now)
            return self._pending is not None or self._count_due, outcome, elapsed

    def _report(self, outcome: str, seconds: float) -> None:
        if self._call_hooks:
            _guarded(self._call_hooks, self.name, outcome, seconds)

    # -- the state machine (every method below runs with self._lock held) ------------------------

    def _ticket(self, now: float) -> int:
        state = self._state
        if state is State.CLOSED:
            return _NORMAL
        policy = self.policy
        if state is State.OPEN:
            if now < self._open_until:
                return _REJECTED
            self._half_open(now, "open period over: probing")
        elif self._probes and now - min(self._probes.values()) >= policy.probe_timeout:
            self._open(now, f"probe still running after {policy.probe_timeout:g} s")
            return _REJECTED
        if not self._lease_mine:
            if now < self._lease_until:
                return _REJECTED  # another process is probing
            self._half_open(now, "the other process's probe lease ran out: probing")
        if len(self._probes) >= policy.half_open_probes:
            return _REJECTED
        self._tickets += 1
        self._probes[self._tickets] = now
        return self._tickets

    def _wait(self, now: float) -> float:
        if self._state is State.OPEN:
            return max(0.0, self._open_until - now)
        if self._state is State.HALF_OPEN:
            if not self._lease_mine:
                return max(0.0, self._lease_until - now)
            if self._probes:
                return max(0.0, min(self._probes.values()) + self.policy.probe_timeout - now)
        return 0.0

    def _finish(self, ticket: int, failed: bool | None, why: str, now: float) -> None:
        """Account for a finished call; ``failed`` None means an exception that does not count."""
        if ticket == _NORMAL:
            if self._state is not State.CLOSED or failed is None:
                return  # a call that began before the breaker opened, or an ignored error
            if self._store is not None:
                self._tally(failed, why, now)
                return
            policy = self.policy
            window = self._ring or self._buckets
            rate = None
            if self._ring is not None:
                rate = self._ring.record(failed)
            elif self._buckets is not None:
                rate = self._buckets.record(failed, now)
            if failed:
                self._failures += 1
                if policy.failures is not None and self._failures >= policy.failures:
                    self._open(now, f"{self._failures} consecutive failures, last: {why}")
                    return
            else:
                self._failures = 0
            if window is not None and rate is not None and rate >= window.policy.threshold:
                last = f", last: {why}" if failed else ""
                self._open(now, f"failure rate {rate:.0%} over {window.calls} calls{last}")
                return
            self._refresh()
            return
        if self._probes.pop(ticket, None) is None or failed is None:
            return  # a stale probe (its slot was reclaimed), or an error that does not count
        if failed:
            self._open(now, f"probe failed: {why}")
            return
        self._probe_ok += 1
        if self._probe_ok >= self.policy.close_after:
            self._close(now, f"{self._probe_ok} probe(s) succeeded")

    def _tally(self, failed: bool, why: str, now: float) -> None:
        """Closed, with a store: count an outcome in the view, and queue what the store must hear.

        The store, not this view, decides whether the breaker opens (see the module docstring).
        """
        ring, buckets = self._ring, self._buckets
        counted = self._failures > 0  # a success must reset the shared consecutive count
        held = (ring is not None and ring.failures > 0) or (
            buckets is not None and buckets.failures > 0
        )
        outbox, rate = self._outbox, None
        if ring is not None:
            rate = ring.record(failed)
        elif buckets is not None and outbox.buckets is not None:
            wall = self._wall()
            rate = buckets.record(failed, wall)
            outbox.buckets.record(failed, wall)
        if failed:
            self._failures += 1
            outbox.append(True, why)
            self._count_due = True
        else:
            self._failures = 0
            if counted or (ring is not None and (held or outbox.results)):
                outbox.append(False)
            elif ring is not None:
                outbox.fill = min(outbox.fill + 1, ring.policy.size)
            policy = self.policy
            window = policy.window
            opens = rate is not None and window is not None and rate >= window.threshold
            reset = counted and policy.failures is not None  # else the count decides nothing
            if reset or (held and (now >= self._next_write or opens)):
                self._count_due = True
        self._refresh()

    def _view(self, record: BreakerRecord) -> None:
        """The closed view: ``record``'s counts plus this process's outcomes not written yet."""
        counts = Counts(self.policy, record.failures, record.rate_window)
        counts.add(self._outbox.outcomes(), self._wall())
        self._failures, self._ring, self._buckets = counts.failures, counts.ring, counts.buckets
        self._refresh()

    def _open(self, now: float, reason: str) -> None:
        if self._state is State.CLOSED and now - self._closed_at >= self.policy.stable_after:
            self._openings = 0
        self._openings += 1
        self._opened_at = now
        self._open_until = now + self.policy.open_period(self._openings)
        self._enter(State.OPEN, reason, "open")

    def _half_open(self, now: float, reason: str) -> None:
        self._lease_mine = True
        self._lease_until = now + self.policy.probe_timeout
        self._enter(State.HALF_OPEN, reason, "claim")

    def _close(self, now: float, reason: str) -> None:
        self._closed_at = now
        self._enter(State.CLOSED, reason, "close")

    def _enter(self, state: State, reason: str, intent: Intent | None) -> None:
        old = self._state
        if intent is not None and self._store is not None:
            self._pending = (intent, reason, self._failures)
        self._state = state
        self._reason = reason
        self._changed_at = self._wall()
        self._epoch += 1
        self._probes.clear()
        self._probe_ok = 0
        if state is State.CLOSED:
            self._failures = 0
        if state is not State.HALF_OPEN:
            if self._ring is not None:
                self._ring.clear()
            if self._buckets is not None:
                self._buckets.clear()
        if self._store is not None:
            self._count_due = False  # a closed period is over: its outcomes with it
            self._outbox.clear()
        self._refresh()
        if old is not state and self._change_hooks:
            _guarded(self._change_hooks, self.name, old.value, state.value, reason)

    def _refresh(self) -> None:
        policy = self.policy
        self._timed = bool(
            self._call_hooks
            or policy.slow_call is not None
            or policy.timeout is not None
            or self._buckets is not None
        )
        self._fast = self._state is State.CLOSED and not self._timed
        self._dirty = self._failures > 0 or (self._ring is not None and not self._ring.clean)

    def _apply(self, record: BreakerRecord, *, ours: bool) -> None:
        """Make this process's breaker match a stored row (ours: the row we just wrote)."""
        self._version = record.version
        self._epoch += 1
        if ours and record.state is self._state:
            # Our own write: keep this process's monotonic times (exact, not round-tripped
            # through wall-clock floats); only the openings can differ, when the store knew of
            # openings this process had not seen, and the open period follows them.
            if record.openings != self._openings and self._state is State.OPEN:
                self._open_until = self._opened_at + self.policy.open_period(record.openings)
            self._openings = record.openings
            self._lease_mine = self._lease_mine or self._state is State.HALF_OPEN
            if record.state is State.CLOSED:
                self._view(record)
            return
        now, wall = self._mono(), self._wall()
        self._openings = record.openings
        reason = record.reason if ours else f"synced: {record.reason}"
        if record.state is State.CLOSED:
            self._closed_at = now - max(0.0, wall - record.changed_at)
            if self._state is not State.CLOSED:
                self._enter(State.CLOSED, reason, None)
            self._view(record)
        elif record.state is State.OPEN:
            until = record.open_until if record.open_until is not None else wall
            self._open_until = now + (until - wall)
            self._opened_at = self._open_until - self.policy.open_period(record.openings)
            self._failures = record.failures
            if self._state is not State.OPEN:
                self._enter(State.OPEN, reason, None)
        else:
            until = record.probe_until if record.probe_until is not None else wall
            self._lease_until = now + (until - wall)
            if not ours or self._state is not State.HALF_OPEN:
                self._enter(State.HALF_OPEN, reason, None)  # their probe: ours are void
            self._lease_mine = ours
        self._changed_at = record.changed_at
        self._reason = record.reason

    # -- the store -------------------------------------------------------------------------------

    def _wall(self) -> float:
        return self._clock.now().timestamp()

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


def _without(hooks: tuple[Any, ...], hook: Any) -> tuple[Any, ...]:
    """``hooks`` minus one registration of ``hook``."""
    for i, registered in enumerate(hooks):
        if registered is hook:
            return hooks[:i] + hooks[i + 1 :]
    return hooks
