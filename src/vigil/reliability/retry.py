"""Retries with capped exponential backoff and full jitter, on named errors only (like stamina).

``on=`` is mandatory: an exception type or a tuple of them (subclasses of ``Exception``); any
other exception propagates at once, untouched. Before retry ``n`` (0-based) the wait is
``uniform(0, min(cap, base * 2**n))``, unless the error carries a wait hint: a ``retry_after``
attribute, or ``details["retry_after"]`` (a :class:`~vigil.errors.VigilError`'s, such as
:class:`~vigil.errors.CircuitOpen`), in seconds, which is used instead, bounded only by the
deadline.

Giving up: after ``attempts`` attempts, or when the next wait would end at or past ``deadline``
seconds after the first attempt began (a retry never sleeps past the deadline, and never starts
an attempt it would have to start late), the **last error itself is raised**, so callers' ``except``
clauses keep working; a note on it (``add_note``, shown in tracebacks) says how many attempts
were made and why retrying stopped.

Time: the deadline is measured on ``clock.monotonic()``; async waits go through
``clock.sleep``; sync waits through the ``sleep`` function (``time.sleep`` by default; tests
pass ``FakeClock.advance``). ``set_testing(True)`` (or ``with testing():``) removes every wait in
the process, optionally capping attempts, for test suites that exercise code which retries.

The package exports everything here but the ``retry`` decorator (import it from this module),
so that ``vigil.reliability.retry`` stays this module, whose ``set_testing`` suites switch.

Errors named in ``on`` should be the transient ones. :class:`~vigil.errors.CircuitOpen` is not
retried unless named: a retry around a breaker stops as soon as the breaker opens.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from vigil.clock import Clock, SystemClock

P = ParamSpec("P")
T = TypeVar("T")

RetryHook = Callable[[int, float, BaseException], None]
"""``hook(attempt, wait_seconds, error)``: attempt ``attempt`` (1-based) failed; waiting now."""

_log = logging.getLogger(__name__)
_testing: dict[str, Any] = {"on": False, "attempts": None}


def set_testing(on: bool, *, attempts: int | None = None) -> None:
    """Remove (or restore) every retry wait in this process; ``attempts`` caps attempts then."""
    if attempts is not None and attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    _testing["on"] = on
    _testing["attempts"] = attempts if on else None


def is_testing() -> bool:
    return bool(_testing["on"])


@contextmanager
def testing(*, attempts: int | None = None) -> Iterator[None]:
    """Testing mode for the block, then the previous mode."""
    before = dict(_testing)
    set_testing(True, attempts=attempts)
    try:
        yield
    finally:
        _testing.update(before)


def _hint(exc: BaseException) -> float | None:
    """The error's own wait hint in seconds, if it carries a sane one."""
    value = getattr(exc, "retry_after", None)
    if value is None:
        details = getattr(exc, "details", None)
        if isinstance(details, dict):
            value = details.get("retry_after")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value >= 0 else None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How to retry: which errors, how many attempts, how long in all, how to back off."""

    on: type[Exception] | tuple[type[Exception], ...]
    attempts: int = 5
    deadline: float | None = 45.0
    base: float = 0.1
    cap: float = 5.0
    clock: Clock = field(default_factory=SystemClock, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rng: random.Random = field(default_factory=random.Random, compare=False)
    on_retry: RetryHook | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        kinds = self.on if isinstance(self.on, tuple) else (self.on,)
        if not kinds or not all(isinstance(k, type) and issubclass(k, Exception) for k in kinds):
            raise TypeError(f"on= must name Exception subclasses to retry, got {self.on!r}")
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts}")
        if self.base < 0 or self.cap < 0 or (self.deadline is not None and self.deadline < 0):
            raise ValueError("base, cap and deadline must not be negative")

    def backoff(self, retry: int) -> float:
        """The jittered wait before retry number ``retry`` (0-based)."""
        ceiling = self.cap if retry >= 64 else min(self.cap, self.base * 2**retry)
        return self.rng.uniform(0.0, ceiling)

    def _next_wait(self, attempt: int, exc: Exception, started: float) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None: give up (a note says why)."""
        attempts = self.attempts
        if _testing["on"] and _testing["attempts"] is not None:
            attempts = min(attempts, _testing["attempts"])
        if attempt >= attempts:
            exc.add_note(f"vigil retry: gave up after {attempt} attempt(s): no attempts left")
            return None
        hint = _hint(exc)
        wait = hint if hint is not None else self.backoff(attempt - 1)
        if self.deadline is not None:
            elapsed = self.clock.monotonic() - started
            if elapsed + wait >= self.deadline:
                exc.add_note(
                    f"vigil retry: gave up after {attempt} attempt(s) in {elapsed:.3g} s: "
                    f"waiting {wait:.3g} s more would pass the {self.deadline:g} s deadline"
                )
                return None
        if self.on_retry is not None:
            try:
                self.on_retry(attempt, wait, exc)
            except Exception:  # noqa: BLE001 -- isolation: a bad hook must not stop the retry
                _log.exception("retry hook %r failed", self.on_retry)
        return 0.0 if _testing["on"] else wait

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()``, retried; see the module docstring."""
        started = self.clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except self.on as exc:
                wait = self._next_wait(attempt, exc, started)
                if wait is None:
                    raise
            if wait > 0:
                self.sleep(wait)

    async def acall(self, fn: Callable[[], Awaitable[T]]) -> T:
        """``await fn()``, retried; waits go through ``clock.sleep``."""
        started = self.clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await fn()
            except self.on as exc:
                wait = self._next_wait(attempt, exc, started)
                if wait is None:
                    raise
            if wait > 0:
                await self.clock.sleep(wait)

    def __call__(self, fn: Callable[P, T]) -> Callable[P, T]:
        """Decorate a function (sync or ``async def``) so every call is retried."""
        import inspect  # here, not at the top: importing retry stays cheap for the CLI

        if inspect.iscoroutinefunction(fn):
            coroutine_fn = cast(Callable[..., Awaitable[Any]], fn)

            @functools.wraps(fn)
            async def retried_async(*args: Any, **kwargs: Any) -> Any:
                return await self.acall(lambda: coroutine_fn(*args, **kwargs))

            return cast(Callable[P, T], retried_async)

        @functools.wraps(fn)
        def retried(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.call(lambda: fn(*args, **kwargs))

        return retried


def retry_call(
    fn: Callable[[], T],
    *,
    on: type[Exception] | tuple[type[Exception], ...],
    attempts: int = 5,
    deadline: float | None = 45.0,
    base: float = 0.1,
    cap: float = 5.0,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    on_retry: RetryHook | None = None,
) -> T:
    """``fn()`` retried on ``on``: ``retry_call(lambda: fetch(url), on=TimeoutError)``."""
    policy = RetryPolicy(
        on,
        attempts,
        deadline,
        base,
        cap,
        clock if clock is not None else SystemClock(),
        sleep,
        rng if rng is not None else random.Random(),
        on_retry,
    )
    return policy.call(fn)


async def aretry_call(
    fn: Callable[[], Awaitable[T]],
    *,
    on: type[Exception] | tuple[type[Exception], ...],
    attempts: int = 5,
    deadline: float | None = 45.0,
    base: float = 0.1,
    cap: float = 5.0,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    on_retry: RetryHook | None = None,
) -> T:
    """``await fn()`` retried on ``on``: ``await aretry_call(lambda: fetch(url), on=...)``."""
    policy = RetryPolicy(
        on,
        attempts,
        deadline,
        base,
        cap,
        clock if clock is not None else SystemClock(),
        time.sleep,
        rng if rng is not None else random.Random(),
        on_retry,
    )
    return await policy.acall(fn)


def retry(
    *,
    on: type[Exception] | tuple[type[Exception], ...],
    attempts: int = 5,
    deadline: float | None = 45.0,
    base: float = 0.1,
    cap: float = 5.0,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    on_retry: RetryHook | None = None,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: ``@retry(on=ConnectionError, attempts=3)`` on a sync or ``async def``."""
    return RetryPolicy(
        on,
        attempts,
        deadline,
        base,
        cap,
        clock if clock is not None else SystemClock(),
        sleep,
        rng if rng is not None else random.Random(),
        on_retry,
    )
