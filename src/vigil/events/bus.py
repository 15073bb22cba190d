"""The in-process bus over the durable log: publish, live subscribers, durable consumers.

- ``publish`` stores events (one transaction per call, so a batch is one append) and wakes every
  consumer at once; other processes wake the bus through the doorbell (:meth:`EventBus.wake`).
- A *durable consumer* has a name, type patterns and a handler. It reads the log from its stored
  offset, so it replays whatever it missed while the daemon was down (at-least-once), and every
  handled event is committed together with the handler's outputs and a done-marker keyed by event
  id (see :meth:`SqliteEventLog.process`), so a replay never doubles an effect.
- A handler that raises does not stop anything else: the failure is dead-lettered with its error,
  ``bus.handler.failed`` is published, and the consumer moves on.
- A *live subscriber* (``subscribe``) sees every new event from any process, in order, while the
  bus runs; it is for views (dashboards), not for work that must not be lost. Subscribing
  returns the unsubscribe callable. Other processes that follow the log (``vigil events
  --follow``) hear of what this bus stores through ``announce`` (the daemon rings their bells).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from vigil.errors import StorageError
from vigil.events.catalog import CONSUMER_FAILED
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, matches, new_event

if TYPE_CHECKING:
    from vigil.reliability.metrics import Metrics

log = logging.getLogger("vigil.bus")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a handler produced: events to publish and store writes to commit with them."""

    events: Sequence[Event] = ()
    apply: Callable[[], Sequence[Event] | None] | None = None


Handler = Callable[[Event], Outcome | None]
# A handler that waits on something slow (a model) runs on the event loop instead of the
# database thread, so it never holds up other consumers' storage work.
AsyncHandler = Callable[[Event], Awaitable[Outcome | None]]
Runner = Callable[[Callable[[], None]], Coroutine[Any, Any, None]]
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
Subscriber = Callable[[Event], Awaitable[None] | None]


@dataclass(slots=True)
class Consumer:
    """A durable, named consumer of the event types matching ``patterns``."""

    name: str
    patterns: tuple[str, ...]
    handler: Handler | AsyncHandler
    batch: int = 256
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    handled: int = 0
    failed: int = 0


async def _through_storage_trouble(
    name: str,
    beat: Callable[[], None],
    loop: Callable[[], Awaitable[None]],
    retry_on: tuple[type[Exception], ...] = (StorageError,),
) -> None:
    """Run a bus loop; while storage fails (a full or read-only disk), wait and retry from the
    stored offset, beating all along. A sick disk is not a crashing component: the supervisor
    must not isolate the consumers for it (the storage probe reports it in /readyz), and they
    must carry on by themselves once the disk is usable again. Other errors raise to the
    supervisor; without one (``start``), ``retry_on`` is every error."""
    delay = RETRY_FIRST_S
    while True:
        try:
            await loop()
            return
        except retry_on as exc:
            log.error(
                "bus loop failing; waiting",
                extra={"loop": name, "error": f"{type(exc).__name__}: {exc}", "retry_in_s": delay},
            )
            waited = 0.0
            while waited < delay:
                beat()
                step = min(1.0, delay - waited)
                await asyncio.sleep(step)
                waited += step
            delay = min(delay * 2, RETRY_MAX_S)


def _no_beat() -> None:
    pass


async def _wait(wakeup: asyncio.Event, timeout: float | None) -> None:
    """Wait for ``wakeup``, or at most ``timeout`` seconds (so the caller can beat)."""
    if timeout is None:
        await wakeup.wait()
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await wakeup.wait()


def _read_scanned(
    log_: SqliteEventLog, offset: int, patterns: tuple[str, ...], limit: int
) -> tuple[list[Event], int]:
    """The matching events after ``offset`` and the position the read covered.

    A consumer moves its in-memory position past events of other types, so a flood of events
    it does not handle costs each wake one scan of what is new, not of everything since the
    last event it did handle (its stored offset only moves with its own events)."""
    scanned = log_.last_seq()
    return log_.read_after(offset, patterns, limit, upto=scanned), scanned


def _nothing() -> tuple[Sequence[Event], None]:
    return (), None


def run_handler(
    log_: SqliteEventLog, consumer: str, handler: Handler, event: Event, *, advance: bool = True
) -> list[Event] | None:
    """Handle ``event`` exactly once for ``consumer`` (blocking; used inline by the CLI too)."""

    def work() -> tuple[Sequence[Event], Callable[[], Sequence[Event] | None] | None]:
        outcome = handler(event) or Outcome()
        return outcome.events, outcome.apply

    return log_.process(consumer, event, work, advance=advance)


class EventBus:
    """Publish/subscribe over a :class:`SqliteEventLog`, with durable consumers."""

    def __init__(
        self,
        event_log: SqliteEventLog,
        *,
        source: str = "vigil",
        metrics: Metrics | None = None,
        announce: Callable[[], None] | None = None,
    ) -> None:
        self.metrics = metrics
        self._announce = announce
        self.log = event_log
        self.db = event_log.db
        self.clock = event_log.clock
        self.source = source
        self._consumers: dict[str, Consumer] = {}
        self._subscribers: list[tuple[tuple[str, ...], Subscriber]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._tail_wakeup = asyncio.Event()
        self._tail_seq = 0
        self._running = False
        self._pending: list[tuple[tuple[Event, ...], asyncio.Future[list[Event]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    # -- wiring ----------------------------------------------------------------------------

    def add_consumer(
        self, name: str, patterns: Sequence[str], handler: Handler | AsyncHandler
    ) -> Consumer:
        if name in self._consumers:
            raise ValueError(f"consumer {name!r} is already registered")
        consumer = Consumer(name=name, patterns=tuple(patterns), handler=handler)
        self._consumers[name] = consumer
        if self._running:
            self._start_consumer(consumer)
        return consumer

    def subscribe(self, patterns: Sequence[str], callback: Subscriber) -> Callable[[], None]:
        entry = (tuple(patterns), callback)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    @property
    def consumers(self) -> dict[str, Consumer]:
        return dict(self._consumers)

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, *events: Event) -> list[Event]:
        """Store ``events`` durably and wake the consumers; returns them with their ``seq``.

        Group commit: publishes that arrive while a write is in flight are appended together
        in the next transaction, so a burst costs one commit instead of one per call.
        """
        if not events:
            return []
        future: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="bus:flush")
        if self.metrics is None:
            return await future
        with self.metrics.timer("bus_publish_seconds"):
            return await future

    async def _flush(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            batch = [event for events, _ in group for event in events]
            try:
                stored = await self.db.call(self.log.append, batch)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting publisher
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for events, future in group:
                if not future.done():
                    future.set_result(stored[start : start + len(events)])
                start += len(events)
            self._stored({event.type for event in stored}, max(e.seq or 0 for e in stored))

    def event(self, event_type: str, data: dict[str, Any], **kwargs: Any) -> Event:
        """A new event from this bus's source and clock (not yet published)."""
        kwargs.setdefault("source", self.source)
        return new_event(event_type, data, clock=self.clock, **kwargs)

    def wake(self, types: Collection[str] | None = None, upto: int | None = None) -> None:
        """Something new is in the log: the consumers and the live tail look now.

        With ``types`` (what was just stored, when the caller knows), only the consumers that
        handle one of them are woken: a burst of events nobody consumes costs no reads. With
        ``upto`` (the highest position just stored) and nobody subscribed, the tail moves its
        position without reading the log.
        """
        for consumer in self._consumers.values():
            if types is None or any(matches(kind, consumer.patterns) for kind in types):
                consumer.wakeup.set()
        if upto is not None and not self._subscribers:
            self._tail_seq = max(self._tail_seq, upto)
            return
        self._tail_wakeup.set()

    def _stored(self, types: Collection[str] | None = None, upto: int | None = None) -> None:
        """This bus stored events: wake its own readers (only the consumers of ``types``, when
        known), then announce them to other processes (``announce``: the daemon rings the
        followers' bells)."""
        self.wake(types, upto)
        if self._announce is not None:
            try:
                self._announce()
            except Exception:  # a follower's trouble must never fail a publish
                log.exception("could not announce new events")

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Get ready to dispatch (the live tail starts at the end of the log)."""
        if not self._running:
            self._running = True
            self._tail_seq = await self.db.call(self.log.last_seq)

    async def start(self) -> None:
        """Run the consumers and the tail as the bus's own tasks (without a supervisor)."""
        if self._running:
            return
        await self.open()
        self._tasks.append(asyncio.create_task(self._tail(_no_beat, None), name="bus:tail"))
        for consumer in self._consumers.values():
            self._start_consumer(consumer)

    def runners(self, beat_every: float) -> dict[str, Runner]:
        """The bus's loops as components for a supervisor (call :meth:`open` first).

        Each runner beats at least every ``beat_every`` seconds while idle and after every
        event it handles; a storage error ends it (raises) so the supervisor restarts it with
        backoff, resuming from the stored offset.
        """

        def consumer_runner(consumer: Consumer) -> Runner:
            async def run(beat: Callable[[], None]) -> None:
                consumer.wakeup = asyncio.Event()
                consumer.wakeup.set()
                await _through_storage_trouble(
                    consumer.name,
                    beat,
                    lambda: self._consume_from_offset(consumer, beat, beat_every),
                )

            return run

        async def tail(beat: Callable[[], None]) -> None:
            await _through_storage_trouble("bus.tail", beat, lambda: self._tail(beat, beat_every))

        loops: dict[str, Runner] = {"bus.tail": tail}
        for consumer in self._consumers.values():
            loops[f"consumer.{consumer.name}"] = consumer_runner(consumer)
        return loops

    async def stop(self) -> None:
        """Stop consuming; an event being handled finishes its transaction first."""
        self._running = False
        if self._flusher is not None and not self._flusher.done():
            await self._flusher
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks.clear()

    def _start_consumer(self, consumer: Consumer) -> None:
        consumer.wakeup = asyncio.Event()
        consumer.wakeup.set()
        task = asyncio.create_task(self._consume(consumer), name=f"bus:{consumer.name}")
        self._tasks.append(task)

    # -- loops -----------------------------------------------------------------------------

    async def _consume(self, consumer: Consumer) -> None:
        """Run one consumer unsupervised: any failure backs off and resumes from the offset."""
        await _through_storage_trouble(
            consumer.name,
            _no_beat,
            lambda: self._consume_from_offset(consumer, _no_beat, None),
            retry_on=(Exception,),
        )

    async def _consume_from_offset(
        self, consumer: Consumer, beat: Callable[[], None], beat_every: float | None
    ) -> None:
        offset = await self.db.call(self.log.offset, consumer.name)
        while True:
            beat()
            consumer.wakeup.clear()
            batch, scanned = await self.db.call(
                _read_scanned, self.log, offset, consumer.patterns, consumer.batch
            )
            if not batch:
                offset = max(offset, scanned)
                await _wait(consumer.wakeup, beat_every)
                continue
            for event in batch:
                await self._deliver(consumer, event)
                offset = event.seq or offset
                beat()
            if len(batch) < consumer.batch:
                offset = max(offset, scanned)

    async def _handle_async(self, consumer: Consumer, event: Event) -> list[Event] | None:
        if await self.db.call(self.log.is_done, consumer.name, event.id):
            return await self.db.call(self.log.process, consumer.name, event, _nothing)
        outcome = await consumer.handler(event) or Outcome()  # type: ignore[misc]

        def work() -> tuple[Sequence[Event], Callable[[], Sequence[Event] | None] | None]:
            return outcome.events, outcome.apply

        return await self.db.call(self.log.process, consumer.name, event, work)

    async def _deliver(self, consumer: Consumer, event: Event) -> None:
        try:
            if inspect.iscoroutinefunction(consumer.handler):
                outputs = await self._handle_async(consumer, event)
            else:
                handler = cast(Handler, consumer.handler)
                outputs = await self.db.call(run_handler, self.log, consumer.name, handler, event)
        except StorageError:
            raise  # not the handler's fault: retry the event once storage works again
        except Exception as exc:  # noqa: BLE001 - isolation: one bad handler never stops the bus
            consumer.failed += 1
            error = f"{type(exc).__name__}: {exc}"
            log.error(
                "handler failed",
                extra={"consumer": consumer.name, "event_id": event.id, "error": error},
            )
            notice = new_event(
                CONSUMER_FAILED,
                {"consumer": consumer.name, "event_type": event.type, "error": error},
                clock=self.clock,
                source=self.source,
                subject=consumer.name,
                cause=event,
            )
            detail = "".join(traceback.format_exception(exc))[-8000:]
            await self.db.call(self.log.dead_letter, consumer.name, event, error, detail, notice)
            self._stored()
            return
        consumer.handled += 1
        if outputs:
            self._stored()

    async def _tail(self, beat: Callable[[], None], beat_every: float | None) -> None:
        while True:
            beat()
            self._tail_wakeup.clear()
            if not self._subscribers:  # nobody watching: just keep the position, read nothing
                self._tail_seq = await self.db.call(self.log.last_seq)
                await _wait(self._tail_wakeup, beat_every)
                continue
            batch = await self.db.call(self.log.read_after, self._tail_seq, (), 500)
            if not batch:
                await _wait(self._tail_wakeup, beat_every)
                continue
            for event in batch:
                self._tail_seq = event.seq or self._tail_seq
                for patterns, callback in list(self._subscribers):
                    if patterns and not matches(event.type, patterns):
                        continue
                    try:
                        result = callback(event)
                        if inspect.isawaitable(result):
                            await result
                    except Exception:
                        log.exception("subscriber failed", extra={"event_id": event.id})
