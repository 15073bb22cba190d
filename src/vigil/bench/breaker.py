"""breaker: what a circuit breaker adds to every call, against pybreaker 1.4 in the same run.

Per-call times are timeit-style loops (``loops`` calls, garbage collection off), ``reps``
repetitions, variants interleaved round-robin (rotated each repetition) so a burst of machine
noise hits them alike. Overhead = variant's time - the bare call's time in the same repetition;
every figure is the median over repetitions, in microseconds.

Sync, each calling ``fn`` (returns a constant):

- bare: ``fn()``;
- ``pybreaker``: ``pybreaker.CircuitBreaker().call(fn)`` (defaults, memory storage, closed);
- ``vigil_stored``: ``CircuitBreaker(name, store=BreakerStore(db))`` on a real state database,
  default policy, closed: the shape the daemon runs. **The checks use this one.**
- ``vigil_memory``: the same without a store; ``vigil_count_window`` adds a 20-call
  ``CountWindow``; ``vigil_timed`` sets ``slow_call`` (every call reads the clock twice);
  ``vigil_on_call_hook`` has one no-op ``on_call`` hook (timed too, plus the hook call): for
  information, what those options cost.

Async, each awaiting ``afn`` (``async def`` returning a constant) inside one running loop:

- bare: ``await afn()``;
- ``pybreaker``: ``await breaker.call(afn)``. pybreaker 1.4 documents async support only
  through Tornado (``call_async``, ``@breaker(__pybreaker_call_async=True)``), and Vigil does
  not install Tornado. So the baseline is ``call`` around the coroutine function: pybreaker runs
  its bookkeeping (lock, state, listeners) around *creating* the coroutine, counts a success
  before it ran, and the caller awaits it. A kind baseline: it does less than an async breaker
  must. ``pybreaker_calling`` (``with breaker.calling(): await afn()``, which does see the
  awaited outcome) is reported beside it;
- ``vigil_stored`` / ``vigil_memory``: ``await breaker.acall(afn)``.

Rejected calls (``open_base`` one hour, so they stay open): a breaker that opened itself;
``other_process``: a second breaker on its own connection to the same database file, built after
the first one opened (it learns the open state from the store), default ``sync_interval``;
``other_process_read_every_call``: the same with ``sync_interval=0``, so every call also reads
the store (the worst case). Each is a loop of calls raising ``CircuitOpen``, caught.

Counted failures (for information, no check): per call raising ``ConnectionError``, caught, on a
closed breaker that never opens (``failures`` one billion). ``stored``: each failure is added to
the stored count in one ``BEGIN IMMEDIATE`` transaction, so processes share it; ``memory``: no
store. ``stored_then_reset``: a failure, then the success that resets the stored count (two
writes), per pair.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import statistics
import time
import timeit
from collections.abc import Awaitable, Callable
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result
from vigil.errors import CircuitOpen
from vigil.reliability import BreakerPolicy, BreakerStore, CircuitBreaker, CountWindow
from vigil.storage import Database

TARGET_RATIO = 0.25
TARGET_REJECTED_US = 50.0
HOUR = 3600.0


def _fn() -> int:
    return 1


async def _afn() -> int:
    return 1


def _no_op_hook(name: str, outcome: str, seconds: float) -> None:
    pass


def _failing() -> int:
    raise ConnectionError("down")


def _median(values: list[float]) -> float:
    """The median, in microseconds to 0.1 ns."""
    return round(statistics.median(values), 4)


def _sync_rounds(
    variants: dict[str, Callable[..., object]], loops: int, reps: int
) -> dict[str, list[float]]:
    """Per-call microseconds of ``fn()`` (``bare``) and of each ``call(fn)``, per repetition."""
    timers = {"bare": timeit.Timer("fn()", globals={"fn": _fn})}
    for name, call in variants.items():
        timers[name] = timeit.Timer("call(fn)", globals={"call": call, "fn": _fn})
    names = list(timers)
    out: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            out[name].append(timers[name].timeit(loops) / loops * 1e6)
    return out


AsyncLoop = Callable[[int], Awaitable[None]]


async def _async_rounds(variants: dict[str, AsyncLoop], loops: int, reps: int) -> dict[str, Any]:
    names = list(variants)
    out: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            gc.disable()
            try:
                started = time.perf_counter_ns()
                await variants[name](loops)
                elapsed = time.perf_counter_ns() - started
            finally:
                gc.enable()
            out[name].append(elapsed / loops / 1000)
    return out


def _async_variants(
    pb: Any, stored: CircuitBreaker, memory: CircuitBreaker
) -> dict[str, AsyncLoop]:
    async def bare(n: int) -> None:
        for _ in range(n):
            await _afn()

    async def pybreaker_call(n: int) -> None:
        for _ in range(n):
            await pb.call(_afn)

    async def pybreaker_calling(n: int) -> None:
        for _ in range(n):
            with pb.calling():
                await _afn()

    async def vigil_stored(n: int) -> None:
        for _ in range(n):
            await stored.acall(_afn)

    async def vigil_memory(n: int) -> None:
        for _ in range(n):
            await memory.acall(_afn)

    return {
        "bare": bare,
        "pybreaker": pybreaker_call,
        "pybreaker_calling": pybreaker_calling,
        "vigil_stored": vigil_stored,
        "vigil_memory": vigil_memory,
    }


def _overheads(rounds: dict[str, list[float]]) -> dict[str, float]:
    """Median over repetitions of (variant - bare) in the same repetition, microseconds."""
    bare = rounds["bare"]
    return {
        name: _median([t - b for t, b in zip(times, bare, strict=True)])
        for name, times in rounds.items()
        if name != "bare"
    }


def _rejected_us(breaker: CircuitBreaker, loops: int, reps: int) -> float:
    samples = []
    for _ in range(reps):
        started = time.perf_counter_ns()
        for _ in range(loops):
            try:
                breaker.call(_fn)
            except CircuitOpen:
                pass
        samples.append((time.perf_counter_ns() - started) / loops / 1000)
    return _median(samples)


async def _arejected_us(breaker: CircuitBreaker, loops: int, reps: int) -> float:
    samples = []
    for _ in range(reps):
        started = time.perf_counter_ns()
        for _ in range(loops):
            try:
                await breaker.acall(_afn)
            except CircuitOpen:
                pass
        samples.append((time.perf_counter_ns() - started) / loops / 1000)
    return _median(samples)


def _failure_us(breaker: CircuitBreaker, loops: int, reps: int, *, reset: bool = False) -> float:
    samples = []
    for _ in range(reps):
        started = time.perf_counter_ns()
        for _ in range(loops):
            try:
                breaker.call(_failing)
            except ConnectionError:
                pass
            if reset:
                breaker.call(_fn)
        samples.append((time.perf_counter_ns() - started) / loops / 1000)
    return _median(samples)


def _trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.policy.failures or 1):
        try:
            breaker.call(_failing)
        except ConnectionError:
            pass


def run(ctx: Context) -> Result:
    loops = ctx.size(100_000, 20_000)
    reps = ctx.size(9, 3)
    result = Result()
    try:
        pybreaker = importlib.import_module("pybreaker")
    except ImportError:
        result.notes.append("pybreaker is not installed (pip install -e '.[dev]'): no baseline")
        result.checks.append(Check("overhead_ratio_vs_pybreaker_sync", None, "<=", TARGET_RATIO))
        return result
    path = ctx.directory("home") / "vigil.db"
    db, other_db = Database(path), Database(path)
    try:
        store = BreakerStore(db)
        stored = CircuitBreaker("bench-stored", store=store)
        memory = CircuitBreaker("bench-memory")
        windowed = CircuitBreaker("bench-window", BreakerPolicy(window=CountWindow()))
        timed = CircuitBreaker("bench-timed", BreakerPolicy(slow_call=60.0))
        hooked = CircuitBreaker("bench-on-call")
        hooked.on_call(_no_op_hook)
        for _ in range(CountWindow().size):
            windowed.call(_fn)  # past the window's warm-up: a full ring of successes
        pb = pybreaker.CircuitBreaker()

        ctx.say(f"breaker: sync, {reps} x {loops:,} calls per variant")
        sync = _sync_rounds(
            {
                "pybreaker": pb.call,
                "vigil_stored": stored.call,
                "vigil_memory": memory.call,
                "vigil_count_window": windowed.call,
                "vigil_timed": timed.call,
                "vigil_on_call_hook": hooked.call,
            },
            loops,
            reps,
        )
        ctx.say(f"breaker: async, {reps} x {loops:,} awaits per variant")
        asynchronous = asyncio.run(_async_rounds(_async_variants(pb, stored, memory), loops, reps))

        ctx.say("breaker: rejected calls")
        policy = BreakerPolicy(open_base=HOUR, open_max=HOUR)
        opened = CircuitBreaker("bench-open", policy, store=store)
        _trip(opened)
        rejected_loops = ctx.size(20_000, 5_000)
        other_store = BreakerStore(other_db)
        learnt = CircuitBreaker("bench-open", policy, store=other_store)
        every_call = CircuitBreaker("bench-open", policy, store=other_store, sync_interval=0.0)
        pb_open = pybreaker.CircuitBreaker(reset_timeout=HOUR)
        pb_open.open()
        rejected = {
            "own": _rejected_us(opened, rejected_loops, reps),
            "other_process": _rejected_us(learnt, rejected_loops, reps),
            "other_process_read_every_call": _rejected_us(
                every_call, max(rejected_loops // 10, 500), reps
            ),
            "own_async": asyncio.run(_arejected_us(opened, rejected_loops, reps)),
        }
        pb_rejected = _pb_rejected_us(pb_open, pybreaker.CircuitBreakerError, rejected_loops, reps)
        states = {b.state.value for b in (opened, learnt, every_call)}

        ctx.say("breaker: counted failures")
        never = BreakerPolicy(failures=10**9)
        failure_loops = ctx.size(2_000, 500)
        failures = {
            "stored": _failure_us(
                CircuitBreaker("bench-fail", never, store=store), failure_loops, reps
            ),
            "stored_then_reset": _failure_us(
                CircuitBreaker("bench-reset", never, store=store), failure_loops, reps, reset=True
            ),
            "memory": _failure_us(
                CircuitBreaker("bench-fail-memory", never), failure_loops * 10, reps
            ),
        }
    finally:
        db.close()
        other_db.close()

    sync_over, async_over = _overheads(sync), _overheads(asynchronous)
    per_call = {name: _median(times) for name, times in sync.items()}
    per_await = {name: _median(times) for name, times in asynchronous.items()}
    result.figures["sync_overhead_us"] = {k: v for k, v in sync_over.items() if k != "pybreaker"}
    result.figures["async_overhead_us"] = {
        k: v for k, v in async_over.items() if not k.startswith("pybreaker")
    }
    result.figures["rejected_us"] = rejected
    result.figures["failure_us"] = failures
    result.figures["per_call_us"] = {"sync": per_call, "async": per_await}
    result.figures["loops"], result.figures["reps"] = loops, reps
    result.baseline["bare_call_us"] = per_call["bare"]
    result.baseline["bare_await_us"] = per_await["bare"]
    result.baseline["pybreaker_sync_overhead_us"] = sync_over["pybreaker"]
    result.baseline["pybreaker_async_overhead_us"] = async_over["pybreaker"]
    result.baseline["pybreaker_calling_async_overhead_us"] = async_over["pybreaker_calling"]
    result.baseline["pybreaker_rejected_us"] = pb_rejected
    sync_ratio = stats.ratio(sync_over["vigil_stored"], sync_over["pybreaker"])
    async_ratio = stats.ratio(async_over["vigil_stored"], async_over["pybreaker"])
    result.ratio["overhead_ratio_vs_pybreaker_sync"] = sync_ratio
    result.ratio["overhead_ratio_vs_pybreaker_async"] = async_ratio
    result.ratio["overhead_ratio_vs_pybreaker_sync_memory"] = stats.ratio(
        sync_over["vigil_memory"], sync_over["pybreaker"]
    )
    result.ratio["overhead_ratio_vs_pybreaker_async_memory"] = stats.ratio(
        async_over["vigil_memory"], async_over["pybreaker"]
    )
    result.ratio["overhead_ratio_vs_pybreaker_calling_async"] = stats.ratio(
        async_over["vigil_stored"], async_over["pybreaker_calling"]
    )
    result.checks += [
        Check("overhead_ratio_vs_pybreaker_sync", sync_ratio, "<=", TARGET_RATIO),
        Check("overhead_ratio_vs_pybreaker_async", async_ratio, "<=", TARGET_RATIO),
        Check("rejected_us", rejected["own"], "<", TARGET_REJECTED_US),
        Check("rejected_other_process_us", rejected["other_process"], "<", TARGET_REJECTED_US),
    ]
    if states != {"open"}:
        result.notes.append(f"a rejecting breaker was not open at the end: {sorted(states)}")
    result.notes.append(
        "pybreaker async = `await breaker.call(afn)` (its call_async needs Tornado): it counts "
        "success before the coroutine runs; `with breaker.calling(): await afn()` beside it"
    )
    return result


def _pb_rejected_us(pb: Any, error: type[BaseException], loops: int, reps: int) -> float:
    samples = []
    for _ in range(reps):
        started = time.perf_counter_ns()
        for _ in range(loops):
            try:
                pb.call(_fn)
            except error:
                pass
        samples.append((time.perf_counter_ns() - started) / loops / 1000)
    return _median(samples)
