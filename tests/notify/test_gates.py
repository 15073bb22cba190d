"""The gates as tables: one request, one state, one injected ``now``, one expected decision.

Modelled on Alertmanager's ``TestDedupStageNeedsUpdate``: each row sets up what the notifier
remembers, hands ``now`` in, and pins the decision, the gate that made it and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.notify.conftest import T0, at, request
from vigil.notify.gates import Policy, View, decide
from vigil.notify.hours import Window, zone
from vigil.notify.request import parse_request
from vigil.notify.significance import score
from vigil.notify.state import AttentionState

ALL = frozenset({"dashboard", "terminal", "desktop", "webhook", "spoken"})
LOCAL_ONLY = frozenset({"dashboard", "terminal", "desktop", "spoken"})


def present(state: AttentionState, now: datetime = T0) -> None:
    state.saw_person(now - timedelta(minutes=2), "build.run.started")


def away(state: AttentionState, now: datetime = T0) -> None:
    state.saw_person(now - timedelta(hours=2), "build.run.started")


def on_branch(branch: str) -> Callable[..., None]:
    def setup(state: AttentionState, now: datetime = T0) -> None:
        present(state)
        state.branch = branch

    return setup


def focused(minutes: float) -> Callable[..., None]:
    def setup(state: AttentionState, now: datetime = T0) -> None:
        present(state)
        state.focus_until = T0 + timedelta(minutes=minutes)

    return setup


def told(minutes_ago: float, streak: int = 1) -> Callable[..., None]:
    def setup(state: AttentionState, now: datetime = T0) -> None:
        present(state)
        cond = state.condition("fp:disk")
        cond.delivered = streak
        cond.last_delivered = T0 - timedelta(minutes=minutes_ago)
        cond.last_delivered_id = "ev_before"

    return setup


def flapping(told_minutes_ago: float | None) -> Callable[..., None]:
    def setup(state: AttentionState, now: datetime = T0) -> None:
        present(state)
        cond = state.condition("fp:disk")
        cond.fires.extend([T0 - timedelta(minutes=30), T0 - timedelta(minutes=15)])
        cond.resolves.extend([T0 - timedelta(minutes=20), T0 - timedelta(minutes=5)])
        if told_minutes_ago is not None:
            cond.flap_told = T0 - timedelta(minutes=told_minutes_ago)

    return setup


def resolved(minutes_after: float) -> Callable[..., None]:
    def setup(state: AttentionState, now: datetime = T0) -> None:
        present(state)
        cond = state.condition("fp:disk")
        cond.resolved_at = T0 + timedelta(minutes=minutes_after)

    return setup


def desktop_busy(state: AttentionState, now: datetime = T0) -> None:
    present(state)
    for minute in range(20):
        state.sends.setdefault("desktop", __import__("collections").deque()).append(
            T0 - timedelta(minutes=minute + 1)
        )


def burst(state: AttentionState, now: datetime = T0) -> None:
    present(state, now)
    state.interruptions.extend(now - timedelta(seconds=s) for s in (50, 30, 10))


def critical_came_back(state: AttentionState, now: datetime = T0) -> None:
    told(10)(state, now)
    state.condition("fp:disk").resolved_at = T0 - timedelta(minutes=5)


@dataclass
class Case:
    name: str
    kind: str
    gate: str
    reason: str
    severity: str = "error"
    source: str = "vigil.raiser"
    data: dict[str, Any] = field(default_factory=dict)
    setup: Callable[..., None] = present
    now: float = 0.0  # minutes after T0: when it is decided
    raised: float | None = None  # minutes after T0: when it was asked (default: ``now``)
    channels: frozenset[str] = ALL
    released: str | None = None
    expect_channels: tuple[str, ...] | None = None


CASES = [
    Case("own request, away", "delivered", "intent", "you asked", "info", "vigil.cli",
         setup=away, expect_channels=("dashboard", "terminal", "desktop")),
    Case("present error: desktop and phone", "delivered", "significance", "desktop, webhook",
         expect_channels=("dashboard", "terminal", "desktop", "webhook")),
    Case("critical reaches speech", "delivered", "significance", "spoken", "critical"),
    Case("warning: desktop only", "delivered", "significance", "desktop", "warning",
         expect_channels=("dashboard", "terminal", "desktop")),
    Case("info: shown without interrupting", "delivered", "significance", "without interrupting",
         "info", expect_channels=("dashboard", "terminal")),
    Case("away warning waits in the terminal", "delivered", "significance",
         "without interrupting", "warning", setup=away),
    Case("away error goes remote only", "delivered", "significance", "webhook",
         setup=away, expect_channels=("dashboard", "terminal", "webhook")),
    Case("away error, no remote channel: local anyway", "delivered", "significance", "desktop",
         setup=away, channels=LOCAL_ONLY),
    Case("another branch is one level lower", "delivered", "significance", "desktop",
         data={"signals": {"branch": "feature-x"}}, setup=on_branch("main"),
         expect_channels=("dashboard", "terminal", "desktop")),
    Case("already on screen", "suppressed", "context", "already on your screen",
         data={"signals": {"terminal": True, "duration_s": 3}}),
    Case("a long run may have been left", "delivered", "significance", "desktop",
         data={"signals": {"terminal": True, "duration_s": 600}}),
    Case("focus holds an error", "deferred", "context", "focus until 10:45", setup=focused(45)),
    Case("focus holds no longer than the deadline", "deferred", "context", "(its deadline)",
         setup=focused(120)),
    Case("past its deadline it comes through", "delivered", "significance", "desktop",
         setup=focused(120), now=61, raised=0, released="context"),
    Case("critical breaks through focus", "delivered", "significance", "spoken", "critical",
         setup=focused(45)),
    Case("meeting holds a warning", "deferred", "context", "meeting 14:00-15:00", "warning",
         now=4 * 60 + 10),
    Case("quiet hours lower an error", "delivered", "significance", "desktop",
         now=13 * 60, expect_channels=("dashboard", "terminal", "desktop")),
    Case("quiet hours: critical breaks through", "delivered", "significance", "webhook",
         "critical", now=13 * 60),
    Case("stale request after downtime", "suppressed", "context", "Vigil was not running",
         now=7 * 60, raised=0),
    Case("grace period for what can resolve", "deferred", "throttling", "grace period",
         data={"signals": {"resolvable": True}}),
    Case("no grace for critical", "delivered", "significance", "spoken", "critical",
         data={"signals": {"resolvable": True}}),
    Case("resolved within the grace period", "suppressed", "throttling", "resolved 60 s",
         data={"fingerprint": "fp:disk", "signals": {"resolvable": True}},
         setup=resolved(1.0), now=1.5, raised=0, released="throttling"),
    Case("still failing after the grace period", "delivered", "significance", "desktop",
         data={"fingerprint": "fp:disk", "signals": {"resolvable": True}},
         now=1.5, raised=0, released="throttling"),
    Case("repeat within the cooldown", "suppressed", "throttling", "cooldown 15 min",
         data={"fingerprint": "fp:disk"}, setup=told(3)),
    Case("repeat after the cooldown", "delivered", "significance", "desktop",
         data={"fingerprint": "fp:disk"}, setup=told(16)),
    Case("the cooldown doubles", "suppressed", "throttling", "cooldown 30 min",
         data={"fingerprint": "fp:disk"}, setup=told(20, streak=2)),
    Case("an alert still firing is not news", "suppressed", "throttling", "still firing",
         data={"fingerprint": "fp:disk", "signals": {"resolvable": True}}, setup=told(50),
         released="throttling"),
    Case("flapping: told once", "delivered", "significance", "desktop",
         data={"fingerprint": "fp:disk"}, setup=flapping(None)),
    Case("flapping: folded after that", "suppressed", "throttling", "flapping (3 times",
         data={"fingerprint": "fp:disk"}, setup=flapping(10)),
    Case("a burst of different failures waits", "suppressed", "throttling", "burst: 3",
         setup=burst),
    Case("critical gets through a burst", "delivered", "significance", "spoken", "critical",
         setup=burst),
    Case("a critical that came back is news", "delivered", "significance", "spoken",
         "critical", data={"fingerprint": "fp:disk"}, setup=critical_came_back),
    Case("desktop rate limit", "delivered", "significance", "webhook", setup=desktop_busy,
         expect_channels=("dashboard", "terminal", "webhook")),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gate_table(case: Case) -> None:
    """Each row pins the decision, deciding gate and reason for one request at one ``now``."""
    policy = Policy(
        zone=zone("UTC"),
        quiet=Window.parse("22:00-07:30"),
        meetings=(Window.parse("14:00-15:00"),),
        channels=case.channels,
    )
    state = AttentionState()
    case.setup(state, at(case.now))
    raised = at(case.now if case.raised is None else case.raised)
    req = parse_request(
        request("Disk almost full", case.severity, when=raised, source=case.source, **case.data)
    )
    cond = state.peek(req.key)
    value, parts = score(req.severity, req.signals, cond.requests if cond else 0)
    state.note_request(req, policy.flap_window)
    decision = decide(req, View(at(case.now), state, policy), value, parts, released=case.released)
    assert (decision.kind, decision.gate) == (case.kind, case.gate), decision.trace
    assert case.reason in decision.reason, decision.reason
    if case.expect_channels is not None:
        assert decision.channels == case.expect_channels
    assert [step.gate for step in decision.trace][-1] == case.gate or case.gate == "intent"


def test_every_gate_leaves_a_step() -> None:
    """A delivered request carries one trace step per gate, in the order of the chain."""
    state = AttentionState()
    present(state)
    req = parse_request(request())
    decision = decide(req, View(T0, state, Policy()), 0.7, {"severity": 0.65})
    assert [s.gate for s in decision.trace] == [
        "activity",
        "intent",
        "context",
        "throttling",
        "significance",
    ]


@pytest.mark.parametrize(
    ("severity", "signals", "seen", "expected"),
    [
        ("info", {}, 0, 0.3),
        ("error", {}, 3, 0.65),
        ("error", {"main_branch": True, "ci": True}, 0, 0.9),
        ("warning", {"novel": False, "seen": 12}, 12, 0.4),
        ("critical", {"production": True, "fix_known": True}, 0, 1.0),
        ("error", {"persisting": True, "tests_failed": 40}, 4, 0.8),
    ],
)
def test_significance_scores(
    severity: str, signals: dict[str, Any], seen: int, expected: float
) -> None:
    """The score adds severity, novelty, persistence, impact and a known fix, within [0, 1]."""
    value, parts = score(severity, signals, seen)
    assert value == pytest.approx(expected)
    assert parts["severity"] > 0


def test_quiet_window_across_midnight() -> None:
    """A window that crosses midnight contains late evening and early morning and ends the next
    day."""
    window = Window.parse("22:00-07:30")
    utc = zone("UTC")
    assert window.end_after(at(13 * 60), utc) == at(21 * 60 + 30)  # 23:00 -> 07:30 next day
    assert window.end_after(at(-3 * 60), utc) == at(-2.5 * 60)  # 07:00 -> 07:30 that day
    assert window.end_after(at(0), utc) is None
