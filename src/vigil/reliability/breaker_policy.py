"""What a circuit breaker decides by: its states, its policy and its failure-rate windows.

A breaker opens on ``failures`` consecutive failures, or when the failure rate over a sliding
window passes ``threshold`` once the window holds at least ``min_calls`` calls. Two windows:

- :class:`CountWindow`: the last ``size`` calls, a fixed ring of 0/1 with a running sum. When the
  ring is full of successes a success changes nothing, so the closed happy path stays free of work.
- :class:`TimeWindow`: the calls of the last ``seconds``, in ``buckets`` slices. Every call must
  be counted with the time it ended, so this window costs a clock read and a lock per call.

With a store, processes share these counts (:class:`Counts`, one row per breaker): each window
has a text form (``dump``/``restore``), and a breaker adds the :class:`Outcomes` it has not
written yet to the stored counts. Order matters in a count window, and processes cannot know the
order of calls they did not see, so the merge is an approximation, stated in :meth:`Counts.add`.
A time window's slices are numbered on the wall clock when shared, so processes agree on them.
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

    def rate(self) -> float | None:
        """The failure rate, or None while the window holds fewer than ``min_calls`` calls."""
        return None if self.calls < self.policy.min_calls else self.failures / self.calls

    def fill(self, successes: int) -> float | None:
        """Add up to ``successes`` successes as the *oldest* calls, into free slots only."""
        room = min(successes, self.policy.size - self.calls)
        if room > 0:
            self.restore(_COUNT + "0" * room + self.dump()[len(_COUNT) :])
        return self.rate()

    def dump(self) -> str:
        """The stored form: ``c:`` and the outcomes oldest first, ``1`` for a failure."""
        ring, pos = self._ring, self._pos
        recent = ring[:pos] if self.calls < self.policy.size else ring[pos:] + ring[:pos]
        return _COUNT + "".join("1" if failed else "0" for failed in recent)

    def restore(self, text: str) -> None:
        """Hold what ``text`` (a :meth:`dump`) holds; anything else, e.g. another window's
        form after a policy change, leaves it empty. A larger ring keeps its newest calls."""
        self.clear()
        if text.startswith(_COUNT):
            for char in text[len(_COUNT) :][-self.policy.size :]:
                self.record(char == "1")

    def clear(self) -> None:
        self._ring = bytearray(self.policy.size)
        self._pos = self.calls = self.failures = 0


_COUNT = "c:"
_TIME = "t:"


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
        return self._roll_to(int(now // self._width))

    def _roll_to(self, number: int) -> int:
        n = self.policy.buckets
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

    def rate(self) -> float | None:
        """The failure rate as of the last call, or None below ``min_calls`` calls."""
        return None if self.calls < self.policy.min_calls else self.failures / self.calls

    def merge(self, other: TimeBuckets, now: float) -> float | None:
        """Add ``other``'s calls, slice by slice, both rolled to ``now``; the rate after it."""
        numbers = [int(now // self._width)]
        numbers += [c for c in (self._current, other._current) if c is not None]
        newest = max(numbers)
        self._roll_to(newest)
        other._roll_to(newest)
        for i in range(self.policy.buckets):
            self._calls[i] += other._calls[i]
            self._fails[i] += other._fails[i]
        self.calls += other.calls
        self.failures += other.failures
        return self.rate()

    def dump(self) -> str:
        """The stored form: ``t:`` newest slice number, calls and failures per bucket."""
        if self._current is None:
            return ""
        calls, fails = ",".join(map(str, self._calls)), ",".join(map(str, self._fails))
        return f"{_TIME}{self._current}:{calls}:{fails}"

    def restore(self, text: str) -> None:
        """Hold what ``text`` (a :meth:`dump`) holds; anything else leaves it empty."""
        self.clear()
        if not text.startswith(_TIME):
            return
        try:
            current, calls, fails = text[len(_TIME) :].split(":")
            numbers = [int(v) for v in calls.split(",")], [int(v) for v in fails.split(",")]
            slice_number = int(current)
        except ValueError:
            return
        if not all(len(values) == self.policy.buckets for values in numbers):
            return  # stored under another bucket count
        self._calls, self._fails = numbers
        self._current = slice_number
        self.calls, self.failures = sum(self._calls), sum(self._fails)

    def clear(self) -> None:
        n = self.policy.buckets
        self._calls, self._fails = [0] * n, [0] * n
        self._current = None
        self.calls = self.failures = 0


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Closed-state outcomes a breaker has not written to the store yet.

    - ``results``: oldest first, True for a failure: the consecutive count and a count window
      take them in order;
    - ``fill``: count window: successes seen while its window held no failure (see
      :meth:`Counts.add`);
    - ``buckets``: time window: the unwritten calls, in :meth:`TimeBuckets.dump` form;
    - ``last``: why the newest failure failed, for the reason when the breaker opens.
    """

    results: tuple[bool, ...] = ()
    fill: int = 0
    buckets: str = ""
    last: str = ""


class Outbox:
    """A closed breaker's outcomes that its store has not heard of yet (see :class:`Outcomes`)."""

    __slots__ = ("_cap", "buckets", "fill", "last", "results")

    def __init__(self, window: CountWindow | TimeWindow | None) -> None:
        self.results: list[bool] = []
        self.fill = 0
        self.last = ""
        self.buckets = TimeBuckets(window) if isinstance(window, TimeWindow) else None
        # Only a store that cannot keep up lets it grow; past a count window's size, the
        # oldest outcomes could change nothing but the consecutive count's history.
        self._cap = max(64, window.size) if isinstance(window, CountWindow) else 64

    def append(self, failed: bool, why: str = "") -> None:
        self.results.append(failed)
        if failed:
            self.last = why
        if len(self.results) > self._cap:
            del self.results[: -self._cap]

    def outcomes(self) -> Outcomes:
        unsent = self.buckets.dump() if self.buckets is not None else ""
        return Outcomes(tuple(self.results), self.fill, unsent, self.last)

    def take(self) -> Outcomes:
        """The outcomes, and forget them (they are being written)."""
        news = self.outcomes()
        self.clear()
        return news

    def clear(self) -> None:
        self.results, self.fill, self.last = [], 0, ""
        if self.buckets is not None:
            self.buckets.clear()


class Counts:
    """What a closed breaker opens by: its consecutive failures and its failure-rate window."""

    __slots__ = ("buckets", "failures", "policy", "ring")

    def __init__(self, policy: BreakerPolicy, failures: int = 0, window: str = "") -> None:
        self.policy = policy
        self.failures = failures
        shape = policy.window
        self.ring = CountRing(shape) if isinstance(shape, CountWindow) else None
        self.buckets = TimeBuckets(shape) if isinstance(shape, TimeWindow) else None
        if self.ring is not None:
            self.ring.restore(window)
        elif self.buckets is not None:
            self.buckets.restore(window)

    def window(self) -> str:
        """The failure-rate window in its stored form ('' without one)."""
        if self.ring is not None:
            return self.ring.dump()
        return self.buckets.dump() if self.buckets is not None else ""

    def add(self, news: Outcomes, now: float) -> str | None:
        """Count ``news`` (``now``: wall clock); why the breaker opens, or None.

        Stops at the outcome that opens it. The consecutive count adds ``results`` in order (a
        success resets it), as in one process. A count window first puts ``fill`` successes in
        its free slots as its oldest calls (they were seen while it looked clean to that
        process, so before failures that process has not seen yet), then appends ``results``
        after the stored calls: calls that processes saw at the same time are ordered by write.
        A time window adds slices, where order does not matter.
        """
        policy, ring = self.policy, self.ring
        last = f", last: {news.last}" if news.last else ""
        if ring is not None and news.fill:
            why = self._rated(ring, ring.fill(news.fill), "")
            if why is not None:
                return why
        for failed in news.results:
            rate = ring.record(failed) if ring is not None else None
            if not failed:
                self.failures = 0
            else:
                self.failures += 1
                if policy.failures is not None and self.failures >= policy.failures:
                    return f"{self.failures} consecutive failures, last: {news.last}"
            if ring is not None:
                why = self._rated(ring, rate, last if failed else "")
                if why is not None:
                    return why
        if self.buckets is not None and news.buckets:
            unwritten = TimeBuckets(self.buckets.policy)
            unwritten.restore(news.buckets)
            return self._rated(self.buckets, self.buckets.merge(unwritten, now), last)
        return None

    @staticmethod
    def _rated(window: CountRing | TimeBuckets, rate: float | None, last: str) -> str | None:
        if rate is None or rate < window.policy.threshold:
            return None
        return f"failure rate {rate:.0%} over {window.calls} calls{last}"
