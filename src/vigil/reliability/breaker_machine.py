"""The circuit breaker's state machine: its fields, the accounting of each call, and every
transition (see :mod:`vigil.reliability.breaker` for the states and what counts as a failure).

:class:`BreakerMachine` holds every field a breaker has (as slots) and the methods that change
them. Everything below ``_report`` runs with ``self._lock`` held; the accounting methods take it
themselves, except for a success that changes nothing (the closed happy path takes no lock).
With a store, ``_tally`` keeps the closed *view* (the stored counts plus the outcomes not yet
written) and ``_apply`` adopts a stored row; the writes themselves are
:class:`~vigil.reliability.breaker_sync.StoreSync`'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from vigil.clock import Clock
from vigil.reliability.breaker_policy import (
    BreakerPolicy,
    CountRing,
    Counts,
    Outbox,
    State,
    TimeBuckets,
)
from vigil.reliability.breaker_store import BreakerRecord, BreakerStore, Intent

ChangeHook = Callable[[str, str, str, str], None]
CallHook = Callable[[str, str, float], None]

_log = logging.getLogger("vigil.reliability.breaker")

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


class BreakerMachine:
    """A breaker's fields and transitions; :class:`~vigil.reliability.breaker.CircuitBreaker`
    sets them up and calls through them."""

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

    name: str
    policy: BreakerPolicy
    _clock: Clock
    _mono: Callable[[], float]  # the clock's monotonic (time.monotonic itself for the system's)
    _store: BreakerStore | None
    _fallback: Callable[..., Any] | None
    _sync_interval: float
    _lock: threading.RLock
    _write_lock: threading.Lock
    _state: State
    _failures: int  # consecutive counted failures in the current closed period
    _openings: int  # openings in a row (the open period grows with them)
    _open_until: float  # monotonic
    _opened_at: float
    _lease_until: float  # monotonic: the half-open probe lease (ours or another process's)
    _lease_mine: bool
    _probes: dict[int, float]  # ticket -> monotonic start
    _tickets: int
    _probe_ok: int
    _closed_at: float  # monotonic; -inf: closed "forever", openings forgiven
    _changed_at: float  # wall clock
    _reason: str
    _ring: CountRing | None
    _buckets: TimeBuckets | None
    _version: int  # the store row's version this breaker last read or wrote
    _epoch: int  # bumped on every local change, so a stale read is never applied
    _pending: tuple[Intent, str, int] | None  # a transition not yet written
    _outbox: Outbox  # with a store, while closed: what it has not heard of
    _count_due: bool  # a ``count`` write is due
    _next_write: float  # monotonic: window successes write again from then
    _change_hooks: tuple[ChangeHook, ...]
    _call_hooks: tuple[CallHook, ...]
    _next_sync: float
    _timed: bool  # every call is timed (slow_call, timeout, a time window or call hooks)
    _fast: bool  # closed and untimed: calls take the lock-free path
    _dirty: bool  # a success must be accounted (failures counted, or the ring not clean)

    # -- the accounting of one call --------------------------------------------------------------

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

    def _wall(self) -> float:
        return self._clock.now().timestamp()
