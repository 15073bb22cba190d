"""What a circuit breaker decides by: its states, its policy and its failure-rate windows.

A breaker opens on ``failures`` consecutive failures, or when the failure rate over a sliding
window passes ``threshold`` once the window holds at least ``min_calls`` calls. Two windows:

- :class:`CountWindow`: the last ``size`` calls, a fixed ring of 0/1 with a running sum. When the
  ring is full of successes a success changes nothing, so the closed happy path stays free of work.
- :class:`TimeWindow`: the calls of the last ``seconds``, in ``buckets`` slices. Every call must
  be counted with the time it ended, so this window costs a clock read and a lock per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """A breaker's state; the value is what hooks, the store and reports see."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class CountWindow:
    """Failure rate over the last ``size`` calls, counted once ``min_calls`` calls were seen."""

    size: int = 20
    threshold: float = 0.5
    min_calls: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.min_calls <= self.size:
            raise ValueError(f"CountWindow needs 1 <= min_calls <= size, got {self}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"CountWindow threshold must be in (0, 1], got {self.threshold}")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Failure rate over the last ``seconds``, counted once ``min_calls`` calls were seen."""

    seconds: float = 60.0
    threshold: float = 0.5
    min_calls: int = 10
    buckets: int = 10

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.buckets < 1 or self.min_calls < 1:
            raise ValueError(f"TimeWindow needs seconds > 0, buckets >= 1, min_calls >= 1: {self}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"TimeWindow threshold must be in (0, 1], got {self.threshold}")


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a breaker opens, how long it stays open, and how it probes its way back.

    - ``failures``: consecutive counted failures that open it (``None``: only the window does).
    - ``window``: a :class:`CountWindow` or :class:`TimeWindow` failure-rate rule, or ``None``.
    - ``slow_call``: seconds; a call that succeeds but takes longer counts as a failure.
    - ``timeout``: seconds; an async call is cancelled after it (a failure, whatever ``counted``
      says); a sync call cannot be interrupted, so it counts as a failure if it took longer.
    - ``counted`` / ``ignored``: the exceptions that count as failures; any other exception passes
      through and changes nothing (``BaseException``s such as cancellation never count).
    - ``open_base``, ``open_factor``, ``open_max``: the n-th opening in a row lasts
      ``min(open_max, open_base * open_factor ** (n - 1))`` seconds; the count starts again once
      the breaker stayed closed for ``stable_after`` seconds.
    - ``half_open_probes``: concurrent probe calls allowed while half-open (others are refused).
    - ``close_after``: successful probes needed to close it again.
    - ``probe_timeout``: seconds; a probe still running after it counts as failed (see
      :mod:`vigil.reliability.breaker` for how sync and async probes are held to it).
    """

    failures: int | None = 3
    window: CountWindow | TimeWindow | None = None
    slow_call: float | None = None
    timeout: float | None = None
    counted: tuple[type[BaseException], ...] = (Exception,)
    ignored: tuple[type[BaseException], ...] = ()
    open_base: float = 10.0
    open_factor: float = 2.0
    open_max: float = 300.0
    stable_after: float = 60.0
    half_open_probes: int = 1
    close_after: int = 1
    probe_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.failures is None and self.window is None:
            raise ValueError("BreakerPolicy needs failures, a window, or both: it would never open")
        if self.failures is not None and self.failures < 1:
            raise ValueError(f"failures must be >= 1, got {self.failures}")
        if not self.counted:
            raise ValueError("counted names no exception type: nothing could ever open it")
        if self.open_base <= 0 or self.open_factor < 1 or self.open_max < self.open_base:
            raise ValueError("need open_base > 0, open_factor >= 1 and open_max >= open_base")
        if self.half_open_probes < 1 or self.close_after < 1 or self.probe_timeout <= 0:
            raise ValueError("need half_open_probes >= 1, close_after >= 1, probe_timeout > 0")
        for name in ("slow_call", "timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 seconds or None, got {value}")

    def open_period(self, openings: int) -> float:
        """Seconds the ``openings``-th opening in a row lasts (1-based)."""
        exponent = max(0, openings - 1)
        if exponent > 64:  # far past any cap; keeps the power from overflowing
            return self.open_max
        return float(min(self.open_max, self.open_base * self.open_factor**exponent))

    def counts(self, exc: BaseException) -> bool:
        """Whether ``exc`` counts as a failure of the protected call."""
        return isinstance(exc, self.counted) and not isinstance(exc, self.ignored)


class CountRing:
    """The last ``size`` outcomes as 0/1 in a ring, with their running sum."""

    __slots__ = ("_pos", "_ring", "calls", "failures", "policy")

    def __init__(self, policy: CountWindow) -> None:
        self.policy = policy
        self._ring = bytearray(policy.size)
        self._pos = 0
        self.calls = 0
        self.failures = 0

    @property
    def clean(self) -> bool:
        """True when recording a success would change nothing (full of successes)."""
        return self.failures == 0 and self.calls == self.policy.size

    def record(self, failed: bool) -> float | None:
        """Add one outcome; the failure rate if the window holds ``min_calls`` calls, else None."""
        ring, pos = self._ring, self._pos
        self.failures += failed - ring[pos]
        ring[pos] = failed
        self._pos = (pos + 1) % self.policy.size
        if self.calls < self.policy.size:
            self.calls += 1
        if self.calls < self.policy.min_calls:
            return None
        return self.failures / self.calls

    def clear(self) -> None:
        self._ring = bytearray(self.policy.size)
        self._pos = self.calls = self.failures = 0


class TimeBuckets:
    """Calls and failures of the last ``seconds``, in ``buckets`` slices of equal width."""

    __slots__ = ("_calls", "_current", "_fails", "_width", "calls", "failures", "policy")

    def __init__(self, policy: TimeWindow) -> None:
        self.policy = policy
        self._width = policy.seconds / policy.buckets
        self._calls = [0] * policy.buckets
        self._fails = [0] * policy.buckets
        self._current: int | None = None  # the slice number of the newest bucket
        self.calls = 0
        self.failures = 0

    def _roll(self, now: float) -> int:
        """Expire the slices that fell out of the window; the index of ``now``'s bucket."""
        n = self.policy.buckets
        number = int(now // self._width)
        current = self._current
        if current is None or number - current >= n:
            self._calls = [0] * n
            self._fails = [0] * n
            self.calls = self.failures = 0
            current = number
        elif number > current:
            for slice_number in range(current + 1, number + 1):
                i = slice_number % n
                self.calls -= self._calls[i]
                self.failures -= self._fails[i]
                self._calls[i] = self._fails[i] = 0
            current = number
        self._current = current
        return current % n  # a clock that stepped back counts in the newest bucket

    def record(self, failed: bool, now: float) -> float | None:
        """Add one outcome at ``now``; the failure rate once ``min_calls`` calls are in."""
        i = self._roll(now)
        self._calls[i] += 1
        self.calls += 1
        if failed:
            self._fails[i] += 1
            self.failures += 1
        if self.calls < self.policy.min_calls:
            return None
        return self.failures / self.calls

    def clear(self) -> None:
        n = self.policy.buckets
        self._calls, self._fails = [0] * n, [0] * n
        self._current = None
        self.calls = self.failures = 0
