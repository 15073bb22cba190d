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

**Shared state.** With a :class:`~vigil.reliability.breaker_store.BreakerStore`, processes share
a breaker's state and counts: see :mod:`vigil.reliability.breaker_sync`.

**Hooks.** ``on_change(hook)`` registers ``hook(name, old_state, new_state, reason)``, called on
every state change, including one learnt from the store (its reason then starts with
``synced:``); ``on_call(hook)`` registers ``hook(name, outcome, seconds)`` with outcome one of
``success``, ``failure``, ``slow``, ``rejected`` or ``ignored`` (an exception that does not
count). Each hook is guarded: one that raises is logged and the others still run. Change hooks
run under the breaker's lock on the thread where the transition happened (the caller's, or the
database thread for a transition learnt while writing from ``acall``): keep them quick, and hand
work to an event loop with ``call_soon_threadsafe``.

The breaker is three modules along its seams: this one (set-up, reading, hooks, and the sync and
async call paths side by side), :mod:`~vigil.reliability.breaker_machine` (its fields, the
accounting of a call and the transitions) and :mod:`~vigil.reliability.breaker_sync` (the store).
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

from vigil.clock import Clock, SystemClock
from vigil.errors import CircuitOpen
from vigil.reliability.breaker_machine import (
    _NORMAL,
    _REJECTED,
    CallHook,
    ChangeHook,
    _describe,
)
from vigil.reliability.breaker_policy import (
    BreakerPolicy,
    CountRing,
    CountWindow,
    Outbox,
    State,
    TimeBuckets,
    TimeWindow,
)
from vigil.reliability.breaker_store import BreakerStore, epoch_iso
from vigil.reliability.breaker_sync import StoreSync

P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["CallHook", "ChangeHook", "CircuitBreaker"]


class CircuitBreaker(StoreSync):
    """One named breaker; see the module docstring."""

    __slots__ = ()

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
        self._clock = clock if clock is not None else SystemClock()
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
        self._probes = {}
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
        self._pending = None
        self._outbox = Outbox(window)  # with a store, while closed: what it has not heard of
        self._count_due = False  # a ``count`` write is due
        self._next_write = -math.inf  # monotonic: window successes write again from then
        self._change_hooks = ()
        self._call_hooks = ()
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


def _without(hooks: tuple[Any, ...], hook: Any) -> tuple[Any, ...]:
    """``hooks`` minus one registration of ``hook``."""
    for i, registered in enumerate(hooks):
        if registered is hook:
            return hooks[:i] + hooks[i + 1 :]
    return hooks
