"""Retries: named errors only, attempts, full-jitter bounds, the deadline, wait hints, the testing
switch, and a retry around a circuit breaker. Time is a FakeClock; no test really sleeps."""

from __future__ import annotations

import random
from typing import Any

import pytest

from vigil.errors import CircuitOpen, VigilError
from vigil.reliability import CircuitBreaker, RetryPolicy, aretry_call, retry_call
from vigil.reliability import retry as retry_module
from vigil.reliability.retry import retry
from vigil.testing import FakeClock


class Flaky:
    """Fails ``failures`` times with ``error``, then answers ``"done"``; counts its calls."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error if error is not None else ConnectionError("reset by peer")
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"

    async def acall(self) -> str:
        return self()


class RateLimited(VigilError):
    """A provider's 429, carrying the server's Retry-After as a structured detail."""


class Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("throttled")
        self.retry_after = retry_after


def test_only_the_named_errors_are_retried(clock: FakeClock) -> None:
    """An error outside ``on=`` propagates from the first attempt, untouched."""
    flaky = Flaky(5, ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug") as caught:
        retry_call(flaky, on=ConnectionError, clock=clock, sleep=clock.advance)
    assert flaky.calls == 1
    assert not getattr(caught.value, "__notes__", None)


def test_retries_until_success(clock: FakeClock) -> None:
    """Named errors are retried and the eventual answer is returned."""
    flaky = Flaky(2)
    assert retry_call(flaky, on=(TimeoutError, ConnectionError), clock=clock, sleep=clock.advance)
    assert flaky.calls == 3


def test_gives_up_after_attempts_raising_the_last_error_with_a_note(clock: FakeClock) -> None:
    """After ``attempts`` attempts the last error itself is raised, annotated with why."""
    errors = [ConnectionError(f"try {i}") for i in range(4)]
    calls = iter(errors)

    def failing() -> None:
        raise next(calls)

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    with pytest.raises(ConnectionError) as caught:
        retry_call(failing, on=ConnectionError, attempts=4, clock=clock, sleep=sleep)
    assert caught.value is errors[3]
    assert caught.value.__notes__ == ["vigil retry: gave up after 4 attempt(s): no attempts left"]
    assert len(sleeps) == 3


def test_backoff_is_full_jitter_under_a_capped_exponential() -> None:
    """Wait n is uniform in [0, min(cap, base * 2**n)]: bounded, and spread over the range."""
    policy = RetryPolicy(on=ConnectionError, base=0.5, cap=4.0, rng=random.Random(7))
    for n, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 4.0, 4.0]):
        waits = [policy.backoff(n) for _ in range(2000)]
        assert all(0.0 <= w <= ceiling for w in waits)
        assert min(waits) < ceiling * 0.05 and max(waits) > ceiling * 0.95
    assert policy.backoff(10_000) <= 4.0


def test_waits_follow_the_backoff_through_the_sleep_function(clock: FakeClock) -> None:
    """Each wait is drawn from the backoff for its retry number and handed to ``sleep``."""
    seen: list[tuple[int, float]] = []
    flaky = Flaky(5)
    retry_call(
        flaky,
        on=ConnectionError,
        attempts=6,
        base=1.0,
        cap=3.0,
        deadline=None,
        clock=clock,
        sleep=clock.advance,
        rng=random.Random(1),
        on_retry=lambda attempt, wait, exc: seen.append((attempt, wait)),
    )
    assert [attempt for attempt, _ in seen] == [1, 2, 3, 4, 5]
    for (attempt, wait), ceiling in zip(seen, [1.0, 2.0, 3.0, 3.0, 3.0], strict=True):
        assert 0.0 <= wait <= ceiling, attempt
    assert clock.monotonic() - 1000.0 == pytest.approx(sum(w for _, w in seen))


@pytest.mark.parametrize("seed", range(30))
def test_never_sleeps_past_the_deadline(seed: int) -> None:
    """Whatever the jitter draws, the waits end before the deadline and retrying then stops."""
    clock = FakeClock()
    flaky = Flaky(1000)
    with pytest.raises(ConnectionError) as caught:
        retry_call(
            flaky,
            on=ConnectionError,
            attempts=1000,
            deadline=5.0,
            base=0.5,
            cap=3.0,
            clock=clock,
            sleep=clock.advance,
            rng=random.Random(seed),
        )
    assert clock.monotonic() - 1000.0 < 5.0
    assert "deadline" in caught.value.__notes__[0]
    assert flaky.calls >= 2


def test_retry_after_hints_replace_the_backoff_within_the_deadline(clock: FakeClock) -> None:
    """A ``details['retry_after']`` or ``retry_after`` attribute is the wait; one that would
    pass the deadline ends the retrying at once instead of sleeping."""
    hinted = Flaky(2, RateLimited("429 from provider", retry_after=7))
    retry_call(hinted, on=RateLimited, clock=clock, sleep=clock.advance, base=100.0)
    assert clock.monotonic() - 1000.0 == 14.0
    attribute = Flaky(1, Throttled(retry_after=2.5))
    retry_call(attribute, on=Throttled, clock=clock, sleep=clock.advance)
    assert clock.monotonic() - 1000.0 == 16.5
    late = Flaky(3, Throttled(retry_after=2.0))
    with pytest.raises(Throttled):
        retry_call(late, on=Throttled, deadline=5.0, clock=clock, sleep=clock.advance)
    assert late.calls == 3 and clock.monotonic() - 1000.0 == 20.5


async def test_async_retries_wait_through_the_clock(clock: FakeClock) -> None:
    """aretry_call sleeps with ``clock.sleep`` and returns the eventual answer."""
    flaky = Flaky(2, Throttled(retry_after=3.0))
    assert await aretry_call(flaky.acall, on=Throttled, clock=clock) == "done"
    assert flaky.calls == 3 and clock.monotonic() - 1000.0 == 6.0
    failing = Flaky(10)
    with pytest.raises(ConnectionError):
        await aretry_call(failing.acall, on=ConnectionError, attempts=3, clock=clock)
    assert failing.calls == 3


async def test_decorators_retry_sync_and_async_functions(clock: FakeClock) -> None:
    """``@retry(on=...)`` retries plain and ``async def`` functions with their arguments."""
    seen: list[int] = []

    @retry(on=ConnectionError, clock=clock, sleep=clock.advance)
    def fetch(x: int) -> int:
        seen.append(x)
        if len(seen) < 3:
            raise ConnectionError("again")
        return x

    @retry(on=ConnectionError, attempts=2, clock=clock)
    async def afetch(x: int) -> int:
        seen.append(x)
        raise ConnectionError("always")

    assert fetch(5) == 5 and seen == [5, 5, 5]
    with pytest.raises(ConnectionError):
        await afetch(9)
    assert seen[3:] == [9, 9]
    assert fetch.__name__ == "fetch" and afetch.__name__ == "afetch"


async def test_testing_switch_removes_every_wait_and_can_cap_attempts(clock: FakeClock) -> None:
    """With the switch on nothing sleeps (sync or async); ``attempts=`` caps attempts; the
    context manager restores the previous mode."""
    slept: list[float] = []
    retry_module.set_testing(True)
    assert retry_module.is_testing()
    assert retry_call(Flaky(3), on=ConnectionError, sleep=slept.append, base=50.0) == "done"
    assert await aretry_call(Flaky(3).acall, on=ConnectionError, clock=clock, base=50.0)
    assert slept == [] and clock.monotonic() == 1000.0
    retry_module.set_testing(False)
    with retry_module.testing(attempts=2):
        capped = Flaky(5)
        with pytest.raises(ConnectionError):
            retry_call(capped, on=ConnectionError, attempts=10, sleep=slept.append)
        assert capped.calls == 2
    assert not retry_module.is_testing()
    retry_call(Flaky(1), on=ConnectionError, clock=clock, sleep=slept.append, base=0.001)
    assert len(slept) == 1


def test_a_retry_around_a_breaker_stops_when_the_breaker_opens(clock: FakeClock) -> None:
    """CircuitOpen is not retried unless named; when named, its retry_after is the wait."""
    breaker = CircuitBreaker("llm", clock=clock)
    down = Flaky(1000)
    with pytest.raises(CircuitOpen):
        retry_call(lambda: breaker.call(down), on=ConnectionError, attempts=10, sleep=clock.advance)
    assert down.calls == 3  # the fourth attempt met the open breaker, which is not retried

    first_wait = breaker.retry_after()
    waits: list[float] = []
    with pytest.raises(CircuitOpen) as caught:
        retry_call(
            lambda: breaker.call(down),
            on=(ConnectionError, CircuitOpen),
            attempts=10,
            deadline=25.0,
            clock=clock,
            sleep=clock.advance,
            on_retry=lambda attempt, wait, exc: waits.append(wait),
        )
    assert waits[0] == first_wait  # the breaker's hint, not the 0.1 s backoff
    assert down.calls == 4  # one probe after the open period; it failed: open for 20 s more
    assert caught.value.retry_after > 19.0
    assert "deadline" in caught.value.__notes__[0]


def test_a_broken_retry_hook_is_logged_and_retrying_goes_on(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing on_retry hook cannot stop the retries."""

    def broken(*args: Any) -> None:
        raise RuntimeError("hook bug")

    flaky = Flaky(2)
    assert retry_call(flaky, on=ConnectionError, sleep=clock.advance, on_retry=broken) == "done"
    assert "hook bug" in caplog.text


def test_retrying_must_name_exception_types() -> None:
    """``on=`` must name Exception subclasses: never nothing, never cancellation or exit."""
    with pytest.raises(TypeError):
        retry_call(lambda: None, on=())
    with pytest.raises(TypeError):
        retry_call(lambda: None, on=KeyboardInterrupt)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RetryPolicy(on=ConnectionError, attempts=0)
