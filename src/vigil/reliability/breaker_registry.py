"""Named circuit breakers sharing one store, hooks for all of them, and their health report."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from vigil.clock import Clock, SystemClock
from vigil.errors import StorageError
from vigil.reliability.breaker import CallHook, ChangeHook, CircuitBreaker
from vigil.reliability.breaker_policy import BreakerPolicy
from vigil.reliability.breaker_store import BreakerStore

_log = logging.getLogger(__name__)


class BreakerRegistry:
    """Get-or-create breakers by name; every one shares the store, the clock and the hooks."""

    def __init__(
        self,
        store: BreakerStore | None = None,
        *,
        clock: Clock | None = None,
        policy: BreakerPolicy | None = None,
        sync_interval: float = 1.0,
    ) -> None:
        self.store = store
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.policy = policy if policy is not None else BreakerPolicy()
        self.sync_interval = sync_interval
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._change_hooks: list[ChangeHook] = []
        self._call_hooks: list[CallHook] = []
        self._unsubscribers: dict[tuple[str, int], list[Callable[[], None]]] = {}

    def get(
        self,
        name: str,
        policy: BreakerPolicy | None = None,
        *,
        fallback: Callable[..., Any] | None = None,
    ) -> CircuitBreaker:
        """The breaker called ``name``, made on first use with ``policy`` (or the default).

        Asking again with a different policy is a programming error (``ValueError``): two parts
        of Vigil would disagree about when one dependency is down.
        """
        with self._lock:
            breaker = self._breakers.get(name)
            if breaker is not None:
                if policy is not None and policy != breaker.policy:
                    raise ValueError(f"breaker {name!r} already exists with another policy")
                return breaker
            breaker = CircuitBreaker(
                name,
                policy if policy is not None else self.policy,
                clock=self.clock,
                store=self.store,
                fallback=fallback,
                sync_interval=self.sync_interval,
            )
            for hook in self._change_hooks:
                self._unsubscribers.setdefault(("change", id(hook)), []).append(
                    breaker.on_change(hook)
                )
            for call_hook in self._call_hooks:
                self._unsubscribers.setdefault(("call", id(call_hook)), []).append(
                    breaker.on_call(call_hook)
                )
            self._breakers[name] = breaker
            return breaker

    def breakers(self) -> list[CircuitBreaker]:
        with self._lock:
            return list(self._breakers.values())

    def on_change(self, hook: ChangeHook) -> Callable[[], None]:
        """``hook`` on every breaker, present and future; returns unsubscribe."""
        with self._lock:
            self._change_hooks.append(hook)
            for breaker in self._breakers.values():
                self._unsubscribers.setdefault(("change", id(hook)), []).append(
                    breaker.on_change(hook)
                )
        return lambda: self._unsubscribe("change", hook, self._change_hooks)

    def on_call(self, hook: CallHook) -> Callable[[], None]:
        """``hook`` after every call of every breaker, present and future; returns unsubscribe."""
        with self._lock:
            self._call_hooks.append(hook)
            for breaker in self._breakers.values():
                self._unsubscribers.setdefault(("call", id(hook)), []).append(breaker.on_call(hook))
        return lambda: self._unsubscribe("call", hook, self._call_hooks)

    def _unsubscribe(self, kind: str, hook: Any, hooks: list[Any]) -> None:
        with self._lock:
            if hook in hooks:
                hooks.remove(hook)
            for unsubscribe in self._unsubscribers.pop((kind, id(hook)), []):
                unsubscribe()

    def snapshot(self) -> list[dict[str, Any]]:
        """Every breaker's state, sorted by name: this process's, and any other in the store.

        Each entry: ``name``, ``state``, ``failures``, ``openings``, ``open_until`` (ISO, or None
        unless open), ``last_change`` (ISO), ``reason``. This process's breakers report what they
        know now; breakers only other processes use report their stored row.
        """
        report = {b.name: b.snapshot() for b in self.breakers()}
        if self.store is not None:
            try:
                stored = self.store.all()
            except StorageError as exc:
                _log.warning("breaker health report without the stored breakers: %s", exc)
                stored = []  # the report still shows this process's breakers
            now = self.clock.now().timestamp()
            for record in stored:
                if record.name not in report:
                    report[record.name] = record.to_report(now, self.policy.stable_after)
        return [report[name] for name in sorted(report)]
