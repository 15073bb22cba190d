"""The circuit breaker in one process: opening rules, open periods, probes, hooks."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from vigil.errors import CircuitOpen, VigilError
from vigil.reliability import BreakerPolicy, CircuitBreaker, CountWindow, State, TimeWindow
from vigil.testing import FakeClock


def ok() -> str:
    return "ok"


def refused() -> str:
    raise ConnectionError("connection refused")


async def aok() -> str:
    await asyncio.sleep(0)
    return "ok"


async def arefused() -> str:
    await asyncio.sleep(0)
    raise ConnectionError("connection refused")


def trip(breaker: CircuitBreaker, times: int = 3) -> None:
    for _ in range(times):
        with pytest.raises(ConnectionError):
            breaker.call(refused)


def record_changes(breaker: CircuitBreaker) -> list[tuple[str, str, str, str]]:
    changes: list[tuple[str, str, str, str]] = []
    breaker.on_change(lambda *change: changes.append(change))
    return changes


def test_opens_after_consecutive_failures_and_refuses_calls_without_running_them(
    clock: FakeClock,
) -> None:
    """Three consecutive failures open it; then calls fail fast with CircuitOpen and never run."""
    breaker = CircuitBreaker("llm", clock=clock)
    trip(breaker, 2)
    assert breaker.state is State.CLOSED and breaker.failures == 2
    trip(breaker, 1)
    assert breaker.state is State.OPEN
    ran: list[int] = []
    with pytest.raises(CircuitOpen) as caught:
        breaker.call(lambda: ran.append(1))
    assert ran == []
    assert caught.value.details == {"name": "llm", "retry_after": 10.0}
    assert caught.value.retry_after == 10.0
    assert str(caught.value) == "circuit 'llm' is open: calls refused for 10.0 s more"
    assert isinstance(caught.value, VigilError) and "\n" not in str(caught.value)


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    """Failures must be consecutive: a success in between starts the count again."""
    breaker = CircuitBreaker("llm", clock=clock)
    trip(breaker, 2)
    assert breaker.call(ok) == "ok"
    assert breaker.failures == 0
    trip(breaker, 2)
    assert breaker.state is State.CLOSED


def test_count_window_opens_on_failure_rate_once_it_has_enough_calls(clock: FakeClock) -> None:
    """Rate mode: alternating outcomes (50%) open it once min_calls calls are in, not before."""
    policy = BreakerPolicy(failures=None, window=CountWindow(size=10, threshold=0.5, min_calls=6))
    breaker = CircuitBreaker("api", policy, clock=clock)
    for _ in range(2):
        breaker.call(ok)
        trip(breaker, 1)
    assert breaker.state is State.CLOSED  # 4 calls: below min_calls
    breaker.call(ok)
    assert breaker.state is State.CLOSED  # 2/5
    trip(breaker, 1)  # 3/6 = 50%
    assert breaker.state is State.OPEN
    assert breaker.snapshot()["reason"].startswith("failure rate 50% over 6 calls")


def test_count_window_forgets_failures_that_slid_out(clock: FakeClock) -> None:
    """Only the last ``size`` calls count: old failures leave the window as successes arrive."""
    policy = BreakerPolicy(failures=None, window=CountWindow(size=4, threshold=0.75, min_calls=4))
    breaker = CircuitBreaker("api", policy, clock=clock)
    trip(breaker, 2)
    for _ in range(4):
        breaker.call(ok)
    trip(breaker, 2)  # window: ok ok F F = 50%
    assert breaker.state is State.CLOSED
    trip(breaker, 1)  # ok F F F = 75%
    assert breaker.state is State.OPEN


def test_time_window_counts_only_the_last_seconds(clock: FakeClock) -> None:
    """Time-based rate mode: failures older than the window no longer count towards the rate."""
    window = TimeWindow(seconds=10.0, threshold=0.5, min_calls=4, buckets=5)
    breaker = CircuitBreaker("api", BreakerPolicy(failures=None, window=window), clock=clock)
    trip(breaker, 3)
    assert breaker.state is State.CLOSED  # 3 calls: below min_calls
    clock.advance(11.0)  # those three slide out
    for _ in range(3):
        breaker.call(ok)
    trip(breaker, 1)  # 1/4 = 25%
    assert breaker.state is State.CLOSED
    trip(breaker, 2)  # 3/6 = 50%
    assert breaker.state is State.OPEN


def test_slow_successes_count_as_failures(clock: FakeClock) -> None:
    """A call that succeeds after slow_call seconds counts as a failure, reported as ``slow``."""
    breaker = CircuitBreaker("llm", BreakerPolicy(slow_call=1.0), clock=clock)
    outcomes: list[str] = []
    breaker.on_call(lambda name, outcome, seconds: outcomes.append(outcome))

    def slow() -> str:
        clock.advance(2.5)
        return "late"

    assert breaker.call(ok) == "ok"
    for _ in range(3):
        assert breaker.call(slow) == "late"
    assert breaker.state is State.OPEN
    assert outcomes == ["success", "slow", "slow", "slow"]
    assert "slow call" in breaker.snapshot()["reason"]


def test_ignored_and_uncounted_errors_pass_through_without_changing_state(
    clock: FakeClock,
) -> None:
    """Errors outside ``counted`` or inside ``ignored`` propagate and leave the breaker alone."""
    policy = BreakerPolicy(counted=(OSError,), ignored=(FileNotFoundError,))
    breaker = CircuitBreaker("disk", policy, clock=clock)

    def missing() -> None:
        raise FileNotFoundError("no such file")

    def bug() -> None:
        raise ValueError("a bug, not an outage")

    for _ in range(5):
        with pytest.raises(FileNotFoundError):
            breaker.call(missing)
        with pytest.raises(ValueError):
            breaker.call(bug)
    trip(breaker, 2)  # ConnectionError is an OSError: counted
    assert breaker.state is State.CLOSED and breaker.failures == 2
    with pytest.raises(FileNotFoundError):
        breaker.call(missing)
    assert breaker.failures == 2  # an ignored error does not break the run either


def test_open_period_grows_with_each_failed_probe_and_is_capped(clock: FakeClock) -> None:
    """Each re-opening doubles the open period (10, 20, 40 s) up to open_max."""
    policy = BreakerPolicy(open_base=10.0, open_factor=2.0, open_max=40.0)
    breaker = CircuitBreaker("llm", policy, clock=clock)
    trip(breaker)
    periods = []
    for _ in range(4):
        periods.append(breaker.retry_after())
        clock.advance(breaker.retry_after())
        trip(breaker, 1)  # the probe fails
    assert periods == [10.0, 20.0, 40.0, 40.0]
    assert breaker.openings == 5


def test_openings_are_forgiven_only_after_staying_closed_for_stable_after(
    clock: FakeClock,
) -> None:
    """A breaker that closes and soon fails again keeps growing; closed long enough, it restarts."""
    breaker = CircuitBreaker("llm", BreakerPolicy(stable_after=60.0), clock=clock)
    trip(breaker)
    clock.advance(10.0)
    assert breaker.call(ok) == "ok"  # probe succeeds: closed
    assert breaker.state is State.CLOSED
    trip(breaker)  # failing again at once: the second opening in a row
    assert breaker.retry_after() == 20.0
    clock.advance(20.0)
    breaker.call(ok)
    assert breaker.snapshot()["openings"] == 2
    clock.advance(60.0)
    assert breaker.snapshot()["openings"] == 0
    trip(breaker)
    assert breaker.retry_after() == 10.0 and breaker.openings == 1


def test_probe_success_closes_or_needs_close_after_successes(clock: FakeClock) -> None:
    """After the open period one probe goes through; close_after successful probes close it."""
    breaker = CircuitBreaker("llm", BreakerPolicy(close_after=2), clock=clock)
    changes = record_changes(breaker)
    trip(breaker)
    clock.advance(10.0)
    assert breaker.call(ok) == "ok"
    assert breaker.state is State.HALF_OPEN
    assert breaker.call(ok) == "ok"
    assert breaker.state is State.CLOSED
    assert [(old, new) for _, old, new, _ in changes] == [
        ("closed", "open"),
        ("open", "half-open"),
        ("half-open", "closed"),
    ]
    assert changes[0][0] == "llm" and changes[0][3].startswith("3 consecutive failures")
    assert changes[2][3] == "2 probe(s) succeeded"


async def test_half_open_admits_only_the_allowed_number_of_concurrent_probes(
    clock: FakeClock,
) -> None:
    """With two probe slots, two calls probe at once and a third is refused fast."""
    breaker = CircuitBreaker("llm", BreakerPolicy(half_open_probes=2), clock=clock)
    trip(breaker)
    clock.advance(10.0)
    gate = asyncio.Event()
    started: list[int] = []

    async def probe(i: int) -> int:
        started.append(i)
        await gate.wait()
        return i

    first = asyncio.create_task(breaker.acall(probe, 1))
    second = asyncio.create_task(breaker.acall(probe, 2))
    await asyncio.sleep(0)
    assert started == [1, 2] and breaker.state is State.HALF_OPEN
    with pytest.raises(CircuitOpen) as caught:
        await breaker.acall(probe, 3)
    assert caught.value.retry_after == pytest.approx(30.0)  # until the oldest probe's timeout
    gate.set()
    assert await first == 1 and await second == 2
    assert breaker.state is State.CLOSED and started == [1, 2]


async def test_a_hung_async_probe_fails_after_probe_timeout_and_reopens(clock: FakeClock) -> None:
    """An async probe that hangs is cancelled at probe_timeout and counts as a failure, even
    when TimeoutError is not among the counted errors."""
    policy = BreakerPolicy(counted=(ConnectionError,), probe_timeout=0.05)
    breaker = CircuitBreaker("llm", policy, clock=clock)
    trip(breaker)
    clock.advance(10.0)
    changes = record_changes(breaker)

    async def hang() -> None:
        await asyncio.Event().wait()

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await breaker.acall(hang)
    assert loop.time() - started < 1.0
    assert breaker.state is State.OPEN and breaker.retry_after() == 20.0
    assert changes[-1][1:3] == ("half-open", "open") and "timed out" in changes[-1][3]


def test_a_hung_sync_probe_loses_its_slot_after_probe_timeout(clock: FakeClock) -> None:
    """A sync probe that never returns cannot hold the breaker half-open: after probe_timeout
    the next call counts it as failed (re-open), a later probe closes the breaker, and the hung
    call's late success changes nothing."""
    breaker = CircuitBreaker("llm", BreakerPolicy(probe_timeout=5.0), clock=clock)
    trip(breaker)
    clock.advance(10.0)
    changes = record_changes(breaker)
    entered, release = threading.Event(), threading.Event()
    results: list[str] = []

    def hang() -> str:
        entered.set()
        release.wait(10)
        return "late"

    worker = threading.Thread(target=lambda: results.append(breaker.call(hang)))
    worker.start()
    try:
        assert entered.wait(5)
        with pytest.raises(CircuitOpen):
            breaker.call(ok)  # the slot is taken and the probe is not yet overdue
        clock.advance(5.0)
        with pytest.raises(CircuitOpen):
            breaker.call(ok)  # overdue: counted as failed, re-opened for 20 s
        assert breaker.state is State.OPEN and breaker.retry_after() == 20.0
        assert "probe still running after 5 s" in changes[-1][3]
        clock.advance(20.0)
        assert breaker.call(ok) == "ok"  # a fresh probe gets the slot
        assert breaker.state is State.CLOSED
    finally:
        release.set()
        worker.join(5)
    assert results == ["late"]
    assert breaker.state is State.CLOSED
    assert [(old, new) for _, old, new, _ in changes] == [
        ("open", "half-open"),
        ("half-open", "open"),
        ("open", "half-open"),
        ("half-open", "closed"),
    ]


def test_a_sync_probe_that_returns_after_probe_timeout_counts_as_failed(clock: FakeClock) -> None:
    """Sync probes are measured after the fact: a success that took too long re-opens it."""
    breaker = CircuitBreaker("llm", BreakerPolicy(probe_timeout=5.0), clock=clock)
    trip(breaker)
    clock.advance(10.0)

    def slow_success() -> str:
        clock.advance(6.0)
        return "late"

    assert breaker.call(slow_success) == "late"
    assert breaker.state is State.OPEN
    assert "over the 5 s timeout" in breaker.snapshot()["reason"]


async def test_async_calls_open_it_and_the_call_timeout_cuts_hangs_off(clock: FakeClock) -> None:
    """acall counts failures like call; with ``timeout`` a hanging call is cancelled and counts."""
    breaker = CircuitBreaker("llm", BreakerPolicy(timeout=0.02), clock=clock)
    assert await breaker.acall(aok) == "ok"
    with pytest.raises(ConnectionError):
        await breaker.acall(arefused)

    async def hang() -> None:
        await asyncio.Event().wait()

    for _ in range(2):
        with pytest.raises(TimeoutError):
            await breaker.acall(hang)
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpen):
        await breaker.acall(aok)


async def test_fallback_answers_while_open_and_is_awaited_when_async(clock: FakeClock) -> None:
    """While open, the fallback gets the call's arguments; failures still raise."""
    calls: list[tuple[Any, ...]] = []

    def cached(*args: Any, **kwargs: Any) -> str:
        calls.append((args, kwargs))
        return "cached"

    async def acached(*args: Any) -> str:
        return "acached"

    breaker = CircuitBreaker("llm", clock=clock, fallback=cached)
    trip(breaker)  # failures are not answered by the fallback
    assert breaker.call(lambda x, y=0: "live", 1, y=2) == "cached"
    assert calls == [((1,), {"y": 2})]
    abreaker = CircuitBreaker("llm2", clock=clock, fallback=acached)
    for _ in range(3):
        with pytest.raises(ConnectionError):
            await abreaker.acall(arefused)
    assert await abreaker.acall(aok) == "acached"


async def test_decorators_guard_sync_and_async_functions(clock: FakeClock) -> None:
    """``@breaker`` works on plain and ``async def`` functions and keeps their names."""
    breaker = CircuitBreaker("llm", clock=clock)

    @breaker
    def fetch(x: int) -> int:
        if x < 0:
            raise ConnectionError("down")
        return x * 2

    @breaker
    async def afetch(x: int) -> int:
        await asyncio.sleep(0)
        if x < 0:
            raise ConnectionError("down")
        return x * 3

    assert fetch(2) == 4 and await afetch(2) == 6
    assert fetch.__name__ == "fetch" and afetch.__name__ == "afetch"
    with pytest.raises(ConnectionError):
        fetch(-1)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await afetch(-1)
    with pytest.raises(CircuitOpen):
        fetch(1)
    with pytest.raises(CircuitOpen):
        await afetch(1)


def test_hooks_report_every_call_and_a_failing_hook_breaks_nothing(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """on_call sees each outcome; a hook that raises is logged and the others still run;
    unsubscribing stops the reports."""
    breaker = CircuitBreaker("llm", BreakerPolicy(ignored=(KeyError,)), clock=clock)
    seen: list[tuple[str, str]] = []

    def broken(*args: Any) -> None:
        raise RuntimeError("hook bug")

    breaker.on_change(broken)
    breaker.on_call(broken)
    stop = breaker.on_call(lambda name, outcome, seconds: seen.append((name, outcome)))
    changes = record_changes(breaker)

    def missing() -> None:
        raise KeyError("k")

    breaker.call(ok)
    with pytest.raises(KeyError):
        breaker.call(missing)
    trip(breaker)
    with pytest.raises(CircuitOpen):
        breaker.call(ok)
    assert [outcome for _, outcome in seen] == [
        "success",
        "ignored",
        "failure",
        "failure",
        "failure",
        "rejected",
    ]
    assert changes and changes[0][1:3] == ("closed", "open")
    assert "hook bug" in caplog.text
    stop()
    clock.advance(10.0)
    breaker.call(ok)
    assert len(seen) == 6


def test_reset_closes_and_forgets_openings(clock: FakeClock) -> None:
    """An operator's reset closes an open breaker at once and restarts the open period."""
    breaker = CircuitBreaker("llm", clock=clock)
    changes = record_changes(breaker)
    trip(breaker)
    breaker.reset()
    assert breaker.state is State.CLOSED and breaker.openings == 0
    assert breaker.call(ok) == "ok"
    assert changes[-1][1:] == ("open", "closed", "reset by hand")


def test_failures_from_many_threads_open_it_exactly_once(clock: FakeClock) -> None:
    """Transitions stay consistent under concurrent calls: one opening, no lost state."""
    breaker = CircuitBreaker("llm", BreakerPolicy(failures=50), clock=clock)
    changes = record_changes(breaker)
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for i in range(200):
            try:
                breaker.call(refused if i % 2 else ok)
            except (ConnectionError, CircuitOpen):
                pass

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert breaker.state is State.CLOSED  # successes keep interrupting the runs
    breaker2 = CircuitBreaker("llm2", BreakerPolicy(failures=50), clock=clock)
    changes2 = record_changes(breaker2)
    workers = [
        threading.Thread(target=lambda: [_swallow(breaker2) for _ in range(100)]) for _ in range(8)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(10)
    assert changes == []
    assert [(old, new) for _, old, new, _ in changes2] == [("closed", "open")]
    assert breaker2.openings == 1


def _swallow(breaker: CircuitBreaker) -> None:
    try:
        breaker.call(refused)
    except (ConnectionError, CircuitOpen):
        pass


def test_policies_that_could_never_work_are_refused() -> None:
    """A policy that can never open, or with nonsense periods, is a programming error."""
    with pytest.raises(ValueError, match="never open"):
        BreakerPolicy(failures=None)
    with pytest.raises(ValueError):
        BreakerPolicy(open_base=10.0, open_max=5.0)
    with pytest.raises(ValueError):
        BreakerPolicy(counted=())
    with pytest.raises(ValueError):
        CountWindow(size=5, min_calls=6)
    with pytest.raises(ValueError):
        TimeWindow(seconds=0)
    assert BreakerPolicy(open_base=1.0, open_max=1e9).open_period(10_000) == 1e9
