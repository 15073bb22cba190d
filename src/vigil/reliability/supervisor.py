"""The supervisor: every long-lived component runs as a supervised task.

A component is a coroutine function that takes a :class:`Beat` and runs until cancelled. The
supervisor

- starts it, and restarts it when it raises, after a capped, jittered exponential backoff;
- isolates it (stops restarting) when it crashed more than ``max_restarts`` times within
  ``window`` seconds, and reports that through the ``on_isolated`` hook: the rest keeps running;
- watches heartbeats: a component with a ``heartbeat`` interval must call ``beat()`` at least that
  often; two missed beats (nothing for ``2 * heartbeat`` seconds) cancel it and count as a crash,
  so it is restarted (or isolated by the same intensity rule);
- stops everything in stages (highest ``stage`` first), each stage cancelled and awaited within
  its timeout, so no task is ever left behind.

Reliability stays generic: the supervisor knows nothing of events; it reports through hooks and
``snapshot()``, and the composition root turns those into events, metrics and notifications.
Time comes from the injected clock (``FakeClock`` in tests) except the watchdog's own waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from vigil.clock import Clock, isoformat

log = logging.getLogger("vigil.supervisor")


class Status(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"  # crashed; waiting to restart
    ISOLATED = "isolated"  # crashed too often; not restarted until the daemon restarts
    FINISHED = "finished"  # returned on its own
    STOPPED = "stopped"  # stopped by shutdown


class Beat:
    """A component's heartbeat handle: call it (or ``beat.beat()``) to say "still working"."""

    __slots__ = ("_clock", "last")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.last = clock.monotonic()

    def beat(self) -> None:
        self.last = self._clock.monotonic()

    __call__ = beat


Component = Callable[[Beat], Coroutine[Any, Any, None]]
ChangeHook = Callable[[str, str, str, str], None]  # name, old status, new status, reason


@dataclass(frozen=True, slots=True)
class Backoff:
    """Restart delays: ``min(cap, base * factor**n)`` with full jitter on the upper half."""

    base: float = 0.05
    factor: float = 2.0
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * self.factor ** max(attempt - 1, 0))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(slots=True)
class Spec:
    name: str
    run: Component
    heartbeat: float | None = None
    required: bool = True
    max_restarts: int = 5
    window: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)
    stage: int = 1
    stop_timeout: float = 5.0


@dataclass(slots=True)
class _State:
    spec: Spec
    status: Status = Status.STARTING
    beat: Beat | None = None
    task: asyncio.Task[None] | None = None
    runner: asyncio.Task[None] | None = None
    restarts: int = 0
    crashes: deque[float] = field(default_factory=deque)
    last_error: str | None = None
    last_beat_wall: str | None = None
    started_wall: str | None = None
    missed: bool = False
    requested: str | None = None  # why a restart was asked for (``restart``)


class Supervisor:
    """Runs components, restarts them, isolates the ones that keep crashing."""

    def __init__(
        self,
        clock: Clock,
        *,
        on_change: ChangeHook | None = None,
        on_isolated: Callable[[str, str], None] | None = None,
        on_restart: Callable[[str, int, str], None] | None = None,
        watch_interval: float = 0.5,
    ) -> None:
        self.clock = clock
        self._components: dict[str, _State] = {}
        self._on_change = on_change
        self._on_isolated = on_isolated
        self._on_restart = on_restart
        self._watch_interval = watch_interval
        self._watchdog: asyncio.Task[None] | None = None
        self._stopping = False

    # -- wiring ----------------------------------------------------------------------------

    def add(self, spec: Spec) -> None:
        if spec.name in self._components:
            raise ValueError(f"component {spec.name!r} is already supervised")
        state = _State(spec)
        self._components[spec.name] = state
        if self._watchdog is not None and not self._stopping:
            state.runner = asyncio.create_task(self._supervise(state), name=f"sup:{spec.name}")

    def supervise(self, name: str, run: Component, **options: Any) -> None:
        self.add(Spec(name=name, run=run, **options))

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        for state in self._components.values():
            if state.runner is None:
                state.runner = asyncio.create_task(
                    self._supervise(state), name=f"sup:{state.spec.name}"
                )
        self._watchdog = asyncio.create_task(self._watch(), name="sup:watchdog")

    async def stop(self) -> None:
        """Stop every component, highest stage first, each stage within its timeout."""
        self._stopping = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for stage in sorted({s.spec.stage for s in self._components.values()}, reverse=True):
            group = [s for s in self._components.values() if s.spec.stage == stage]
            timeout = max(s.spec.stop_timeout for s in group)
            runners = [s.runner for s in group if s.runner is not None]
            for runner in runners:
                runner.cancel()
            if runners:
                _, pending = await asyncio.wait(runners, timeout=timeout)
                for task in pending:  # a component that ignores cancellation: name it
                    log.error("component did not stop in time", extra={"task": task.get_name()})
            for state in group:
                if state.status not in (Status.ISOLATED, Status.FINISHED):
                    self._set(state, Status.STOPPED, "shutdown")

    # -- reading ---------------------------------------------------------------------------

    def status(self, name: str) -> Status:
        return self._components[name].status

    def ready(self) -> bool:
        """Every required component is running."""
        return all(s.status is Status.RUNNING for s in self._components.values() if s.spec.required)

    def stuck(self) -> list[str]:
        """Components whose heartbeats are overdue right now (for the systemd watchdog)."""
        now = self.clock.monotonic()
        return [
            s.spec.name
            for s in self._components.values()
            if s.status is Status.RUNNING
            and s.spec.heartbeat is not None
            and s.beat is not None
            and now - s.beat.last > 2 * s.spec.heartbeat
        ]

    def snapshot(self) -> list[dict[str, Any]]:
        """One dict per component: name, status, last_beat, restarts, last_error, required."""
        now_mono = self.clock.monotonic()
        now_wall = self.clock.now()
        result = []
        for s in self._components.values():
            last_beat = None
            if s.beat is not None:
                from datetime import timedelta

                last_beat = isoformat(now_wall - timedelta(seconds=now_mono - s.beat.last))
            result.append(
                {
                    "name": s.spec.name,
                    "status": str(s.status),
                    "last_beat": last_beat,
                    "restarts": s.restarts,
                    "last_error": s.last_error,
                    "required": s.spec.required,
                    "heartbeat_s": s.spec.heartbeat,
                    "started": s.started_wall,
                }
            )
        return result

    def restart(self, name: str, reason: str = "restart requested") -> bool:
        """Cancel a running component so the supervisor starts it again (with backoff, counted
        like a crash); ``False`` when it is not running. Call on the event loop's thread."""
        state = self._components[name]
        if state.status is not Status.RUNNING or state.task is None or state.task.done():
            return False
        state.requested = reason
        state.task.cancel()
        return True

    # -- internals -------------------------------------------------------------------------

    def _set(self, state: _State, status: Status, reason: str) -> None:
        old = state.status
        if old is status:
            return
        state.status = status
        if self._on_change is not None:
            try:
                self._on_change(state.spec.name, str(old), str(status), reason)
            except Exception:
                log.exception("supervisor hook failed")

    async def _supervise(self, state: _State) -> None:
        spec = state.spec
        while not self._stopping:
            state.beat = Beat(self.clock)
            state.missed = False
            state.requested = None
            state.started_wall = isoformat(self.clock.now())
            state.task = asyncio.create_task(spec.run(state.beat), name=f"component:{spec.name}")
            self._set(state, Status.RUNNING, "started" if not state.restarts else "restarted")
            try:
                await asyncio.shield(state.task)
            except asyncio.CancelledError:
                if self._stopping or not (state.missed or state.requested):
                    await self._cancel(state)
                    raise
                reason = state.requested or (
                    f"missed heartbeats (none for {2 * (spec.heartbeat or 0):.1f}s)"
                )
            except Exception as exc:  # noqa: BLE001 - that is what supervision is for
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if state.missed:
                    reason = "missed heartbeats"
                else:
                    self._set(state, Status.FINISHED, "returned")
                    return
            state.last_error = reason
            now = self.clock.monotonic()
            state.crashes.append(now)
            while state.crashes and now - state.crashes[0] > spec.window:
                state.crashes.popleft()
            if len(state.crashes) > spec.max_restarts:
                log.error("component isolated", extra={"component": spec.name, "error": reason})
                self._set(state, Status.ISOLATED, reason)
                if self._on_isolated is not None:
                    self._on_isolated(spec.name, reason)
                return
            state.restarts += 1
            log.warning(
                "component crashed; restarting",
                extra={"component": spec.name, "error": reason, "restarts": state.restarts},
            )
            self._set(state, Status.BACKOFF, reason)
            if self._on_restart is not None:
                self._on_restart(spec.name, state.restarts, reason)
            await self.clock.sleep(spec.backoff.delay(len(state.crashes)))

    async def _cancel(self, state: _State) -> None:
        task = state.task
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, state.spec.stop_timeout)

    async def _watch(self) -> None:
        """Cancel components whose heartbeats are two intervals overdue."""
        while True:
            await asyncio.sleep(self._watch_interval)
            now = self.clock.monotonic()
            for state in self._components.values():
                spec = state.spec
                if (
                    state.status is Status.RUNNING
                    and spec.heartbeat is not None
                    and state.beat is not None
                    and now - state.beat.last > 2 * spec.heartbeat
                    and state.task is not None
                    and not state.task.done()
                ):
                    state.missed = True
                    state.task.cancel()
