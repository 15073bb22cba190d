"""dispatch: in-daemon publish -> durable consumer's handler, one event at a time.

An :class:`EventBus` runs one durable consumer whose handler records ``time.perf_counter_ns()`` on
entry. Events are made before timing; each is published alone (``await bus.publish(event)``), the
next only after the handler saw it and a short gap, so no event queues behind another: the figure
is the bus's latency, not a backlog. Latency = publish start -> handler entry.

Baseline, interleaved with the bus events in the same run: the least any durable dispatch needs,
with no bus: ``await db.call(log.append, [event])`` (the commit on the database thread) followed by
``await db.call(log.read_after, ...)`` (a consumer's read of it). ``publish_call`` is how long
``bus.publish`` itself took.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result
from vigil.clock import SystemClock
from vigil.events.bus import EventBus, Outcome
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event
from vigil.storage import Database

TARGET_P99_MS = 2.0
GAP_S = 0.001
WARMUP = 20
PROBE = "bench.dispatch.probed"
PLAIN = "bench.dispatch.baseline"
TIMEOUT_S = 5.0


class _Probe:
    """The consumer's handler: stamps entry time and wakes the publishing coroutine."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.entered: dict[str, int] = {}
        self.waiting: dict[str, asyncio.Future[None]] = {}

    def expect(self, event_id: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self.loop.create_future()
        self.waiting[event_id] = future
        return future

    def handle(self, event: Event) -> Outcome | None:
        self.entered[event.id] = time.perf_counter_ns()
        future = self.waiting.get(event.id)
        if future is not None:
            self.loop.call_soon_threadsafe(_release, future)
        return None


def _release(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _measure(ctx: Context, n: int) -> dict[str, list[int]]:
    clock = SystemClock()
    db = Database(ctx.directory("home") / "vigil.db")
    log = SqliteEventLog(db, clock)
    bus = EventBus(log, source="vigil.bench")
    probe = _Probe(asyncio.get_running_loop())
    bus.add_consumer("bench-dispatch", [PROBE], probe.handle)
    samples: dict[str, list[int]] = {"dispatch": [], "publish_call": [], "append_read": []}
    await bus.start()
    try:
        for i in range(WARMUP + n):
            counted = i >= WARMUP
            event = bus.event(PROBE, {"i": i, "note": "dispatch latency probe"}, subject="bench")
            handled = probe.expect(event.id)
            started = time.perf_counter_ns()
            await bus.publish(event)
            returned = time.perf_counter_ns()
            await asyncio.wait_for(handled, TIMEOUT_S)
            if counted:
                samples["dispatch"].append(probe.entered[event.id] - started)
                samples["publish_call"].append(returned - started)
            await asyncio.sleep(GAP_S)

            plain = bus.event(PLAIN, {"i": i, "note": "dispatch latency probe"}, subject="bench")
            started = time.perf_counter_ns()
            (stored,) = await db.call(log.append, [plain])
            await db.call(log.read_after, (stored.seq or 1) - 1, (PLAIN,), 1)
            if counted:
                samples["append_read"].append(time.perf_counter_ns() - started)
            await asyncio.sleep(GAP_S)
    finally:
        await bus.stop()
        db.close()
    return samples


def run(ctx: Context) -> Result:
    n = ctx.size(1000, 200)
    ctx.say(f"dispatch: {n} events, one at a time, {GAP_S * 1000:g} ms apart")
    samples = asyncio.run(_measure(ctx, n))
    dispatch = stats.latency(samples["dispatch"])
    baseline = stats.latency(samples["append_read"])
    result = Result()
    result.figures["publish_to_handler"] = dispatch
    result.figures["publish_call"] = stats.latency(samples["publish_call"])
    result.baseline["append_then_read"] = baseline
    ratio: dict[str, Any] = {
        f"{q}_vs_append_then_read": stats.ratio(dispatch[q], baseline[q]) for q in ("p50", "p99")
    }
    result.ratio.update(ratio)
    result.checks.append(Check("p99_ms", dispatch["p99"], "<", TARGET_P99_MS))
    return result
