"""The breaker against a reference model under random successes, failures and time advances.

The model is the policy written as plainly as possible: consecutive failures open it; the n-th
opening in a row lasts ``min(max, base * 2**(n-1))``; the first call after that is a probe whose
outcome closes or re-opens it; openings are forgiven after ``stable_after`` closed. Time moves in
whole seconds so that boundaries land exactly where the model puts them, including after a
round trip through the store's wall-clock epochs.

Stored, the breaker keeps its counts in the row, so the model holds across restarts, and across
two processes that take turns at calling (each reading the store before every call).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from vigil.errors import CircuitOpen
from vigil.reliability import BreakerPolicy, BreakerStore, CircuitBreaker
from vigil.storage import Database
from vigil.testing import FakeClock

POLICY = BreakerPolicy(
    failures=3, open_base=10.0, open_factor=2.0, open_max=80.0, stable_after=60.0
)

# Steps that land on and around the policy's edges: open periods (10, 20, 40, 80) and the
# stable_after (60) that forgives openings.
BOUNDARIES = (1, 9, 10, 11, 19, 20, 21, 39, 40, 50, 59, 60, 61, 79, 80)


class Model:
    """The reference: what the policy says, with none of the breaker's machinery."""

    def __init__(self) -> None:
        self.now = 0.0
        self.state = "closed"
        self.failures = 0
        self.openings = 0
        self.open_until = 0.0
        self.closed_at = -1e18

    def admit(self) -> bool:
        if self.state == "open":
            if self.now < self.open_until:
                return False
            self.state = "half-open"
        return True

    def outcome(self, failed: bool) -> None:
        if self.state == "half-open":
            if failed:
                self._open()
            else:
                self.state, self.failures, self.closed_at = "closed", 0, self.now
        elif failed:
            self.failures += 1
            if self.failures >= 3:
                self._open()
        else:
            self.failures = 0

    def _open(self) -> None:
        if self.state == "closed" and self.now - self.closed_at >= 60:
            self.openings = 0
        self.openings += 1
        self.open_until = self.now + min(80.0, 10.0 * 2 ** (self.openings - 1))
        self.state = "open"


class BreakerMachine(RuleBasedStateMachine):
    """An in-memory breaker must agree with the model after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.model = Model()
        self.breaker = self.make()
        self.current = True  # the breaker has called since the model last changed elsewhere

    def make(self) -> CircuitBreaker:
        return CircuitBreaker("model", POLICY, clock=self.clock)

    def _call(self, failed: bool) -> None:
        admitted = self.model.admit()

        def work() -> str:
            if failed:
                raise ConnectionError("down")
            return "up"

        self.current = True
        if not admitted:
            with pytest.raises(CircuitOpen) as caught:
                self.breaker.call(work)
            assert caught.value.retry_after == self.model.open_until - self.model.now
            return
        if failed:
            with pytest.raises(ConnectionError):
                self.breaker.call(work)
        else:
            assert self.breaker.call(work) == "up"
        self.model.outcome(failed)

    @rule()
    def succeed(self) -> None:
        self._call(failed=False)

    @rule()
    def fail(self) -> None:
        self._call(failed=True)

    @rule()
    def outage(self) -> None:
        """A burst of failures: enough to open a closed breaker."""
        for _ in range(3):
            self._call(failed=True)

    @rule()
    def uncounted_error(self) -> None:
        """A KeyboardInterrupt-like BaseException passes through and changes nothing."""
        if not self.model.admit():
            return  # refused before it could run; the model already said so for the others

        def interrupted() -> None:
            raise GeneratorExit

        with pytest.raises(GeneratorExit):
            self.breaker.call(interrupted)  # a probe's slot is released; nothing else changes
        self.current = True

    @rule(seconds=st.sampled_from(BOUNDARIES) | st.integers(min_value=0, max_value=120))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.model.now += seconds

    @invariant()
    def agrees_with_the_model(self) -> None:
        if not self.current:
            return  # another process's breaker: it learns the stored state at its next call
        assert self.breaker.state.value == self.model.state
        assert self.breaker.openings == self.model.openings
        if self.model.state == "closed":
            assert self.breaker.failures == self.model.failures
        if self.model.state == "open":
            assert self.breaker.retry_after() == max(0.0, self.model.open_until - self.model.now)


class StoredBreakerMachine(BreakerMachine):
    """The same, stored in SQLite, with restarts: a new breaker built from the stored row."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vigil-breaker-model-"))
        self.db = Database(self.tmp / "vigil.db")
        super().__init__()

    def make(self) -> CircuitBreaker:
        return CircuitBreaker("model", POLICY, clock=self.clock, store=BreakerStore(self.db))

    @precondition(lambda self: self.model.state != "half-open")
    @rule()
    def restart(self) -> None:
        """A process restart: the stored row is all the new breaker knows."""
        self.db.close()
        self.db = Database(self.tmp / "vigil.db")
        self.breaker = self.make()  # the consecutive failures are stored: the model keeps them

    def teardown(self) -> None:
        self.db.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class SharedBreakerMachine(StoredBreakerMachine):
    """Two processes (own connection each, one file) take turns; the pair must act as one."""

    def __init__(self) -> None:
        super().__init__()
        self.other_db = Database(self.tmp / "vigil.db")
        self.pair = [self.breaker, self.make_other()]

    def make_other(self) -> CircuitBreaker:
        store = BreakerStore(self.other_db)
        return CircuitBreaker("model", POLICY, clock=self.clock, store=store, sync_interval=0.0)

    def make(self) -> CircuitBreaker:
        store = BreakerStore(self.db)
        return CircuitBreaker("model", POLICY, clock=self.clock, store=store, sync_interval=0.0)

    @rule(which=st.integers(min_value=0, max_value=1))
    def switch(self, which: int) -> None:
        """The next calls come from the other process (unless one holds a half-open probe,
        which only that process may finish: the model has one breaker)."""
        if self.model.state != "half-open" and self.breaker is not self.pair[which]:
            self.breaker = self.pair[which]
            self.current = False

    @precondition(lambda self: self.model.state != "half-open")
    @rule()
    def restart(self) -> None:
        super().restart()
        self.other_db.close()
        self.other_db = Database(self.tmp / "vigil.db")
        self.pair = [self.breaker, self.make_other()]

    def teardown(self) -> None:
        self.other_db.close()
        super().teardown()


TestBreakerAgainstModel = BreakerMachine.TestCase
TestBreakerAgainstModel.settings = settings(max_examples=400, stateful_step_count=50, deadline=None)

TestStoredBreakerAgainstModel = StoredBreakerMachine.TestCase
TestStoredBreakerAgainstModel.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)

TestSharedBreakerAgainstModel = SharedBreakerMachine.TestCase
TestSharedBreakerAgainstModel.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
