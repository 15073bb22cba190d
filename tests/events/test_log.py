"""The SQLite event log: appends, reads, ids, and a state machine over offsets and replay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from vigil.errors import NotFoundError, ValidationError
from vigil.events.bus import Outcome, run_handler
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, check_type, new_event
from vigil.storage import Database
from vigil.testing import FakeClock


def _log(path: Path) -> tuple[Database, SqliteEventLog]:
    db = Database(path)
    return db, SqliteEventLog(db, FakeClock())


def test_batch_append_is_all_or_nothing(tmp_path: Path) -> None:
    """A batch with one bad event stores none of the batch."""
    db, log = _log(tmp_path / "v.db")
    good = new_event("a.b.c", {}, clock=log.clock, source="t")
    log.append([good])
    with pytest.raises(sqlite3.IntegrityError):
        log.append([new_event("a.b.c", {}, clock=log.clock, source="t"), good])  # dup id
    assert log.count() == 1
    db.close()


def test_batch_gets_consecutive_positions(tmp_path: Path) -> None:
    """Events appended together come back with increasing seq in the order given."""
    db, log = _log(tmp_path / "v.db")
    stored = log.append(
        [new_event("a.b.c", {"i": i}, clock=log.clock, source="t") for i in range(50)]
    )
    assert [e.seq for e in stored] == list(range(1, 51))
    assert [e.data["i"] for e in log.read_after(0, (), 100)] == list(range(50))
    db.close()


def test_get_by_id_and_prefix(tmp_path: Path) -> None:
    """An event is found by its id or a unique prefix; an unknown id is a NotFoundError."""
    db, log = _log(tmp_path / "v.db")
    (event,) = log.append([new_event("a.b.c", {"x": 1}, clock=log.clock, source="t")])
    assert log.get(event.id).data == {"x": 1}
    assert log.get(event.id[:20]).id == event.id
    with pytest.raises(NotFoundError):
        log.get("ev_nope")
    db.close()


@pytest.mark.parametrize("bad", ["", "Build.Failed", "nodots", "a..b", "a.b.", 5, None])
def test_event_types_are_validated(bad: object) -> None:
    """Only lowercase dotted names are valid event types."""
    with pytest.raises(ValidationError):
        check_type(bad)


def test_causation_links_effect_to_cause(tmp_path: Path) -> None:
    """An effect carries its cause's id as causation and inherits the correlation."""
    clock = FakeClock()
    cause = new_event("build.run.failed", {}, clock=clock, source="t")
    effect = new_event("triage.completed", {}, clock=clock, source="t", cause=cause)
    after = new_event("x.y.z", {}, clock=clock, source="t", cause=effect)
    assert effect.causation_id == cause.id
    assert effect.correlation_id == cause.id
    assert after.correlation_id == cause.id


class ReplayMachine(RuleBasedStateMachine):
    """Whatever the interleaving of appends, handling and crashes, each event's output is
    committed exactly once and the offset never passes an unhandled event."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "v.db"
        self.db, self.log = _log(self.path)
        self.appended: list[str] = []

    def _handler(self, event: Event) -> Outcome:
        return Outcome(
            events=[new_event("out.put.done", {}, clock=self.log.clock, source="m", cause=event)]
        )

    @rule(n=st.integers(min_value=1, max_value=5))
    def append(self, n: int) -> None:
        stored = self.log.append(
            [new_event("in.put.came", {}, clock=self.log.clock, source="m") for _ in range(n)]
        )
        self.appended += [e.id for e in stored]

    @rule(k=st.integers(min_value=1, max_value=4))
    def consume(self, k: int) -> None:
        for event in self.log.read_after(self.log.offset("c"), ("in.*",), k):
            run_handler(self.log, "c", self._handler, event)

    @rule(k=st.integers(min_value=1, max_value=3))
    def inline(self, k: int) -> None:
        for event in self.log.find(patterns=("in.*",), limit=k):
            run_handler(self.log, "c", self._handler, event, advance=False)

    @rule()
    def crash_and_reopen(self) -> None:
        self.db.close()
        self.db, self.log = _log(self.path)

    @invariant()
    def exactly_once(self) -> None:
        outs = self.log.find(patterns=("out.*",), limit=100_000)
        causes = [e.causation_id for e in outs]
        assert len(causes) == len(set(causes))
        offset = self.log.offset("c")
        for event in self.log.read_after(0, ("in.*",), 100_000):
            if event.seq is not None and event.seq <= offset:
                assert event.id in causes

    def teardown(self) -> None:
        self.db.close()
        self.dir.cleanup()


TestReplay = ReplayMachine.TestCase
TestReplay.settings = hsettings(max_examples=40, stateful_step_count=20, deadline=None)
