"""Components and circuit breakers over a window of time, from the events that record changes.

Breakers publish ``breaker.opened|half_opened|closed`` (data ``breaker``, ``from``, ``to``,
``reason``); the supervisor's hooks publish ``component.process.restarted`` and
``component.process.isolated``; the daemon ``daemon.process.started|stopped``. From those and
the state now, :func:`timelines` draws one row per breaker and per component: segments of
state, and marks for restarts. Pure: no I/O, times are ISO strings or unix seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.clock import parse_iso
from vigil.events import catalog
from vigil.events.model import Event

PATTERNS = (
    catalog.BREAKER_OPENED,
    catalog.BREAKER_HALF_OPENED,
    catalog.BREAKER_CLOSED,
    catalog.COMPONENT_RESTARTED,
    catalog.COMPONENT_ISOLATED,
    catalog.DAEMON_STARTED,
    catalog.DAEMON_STOPPED,
)


@dataclass(slots=True)
class Segment:
    start: float
    end: float
    state: str
    reason: str = ""


@dataclass(slots=True)
class Row:
    """One breaker or component over the window."""

    name: str
    kind: str  # breaker | component | daemon
    segments: list[Segment] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)  # (when, what happened)

    def changes(self) -> int:
        return len(self.segments) - 1 + len(self.marks)

    def time_in(self) -> dict[str, float]:
        """Seconds spent in each state over the window."""
        spent: dict[str, float] = {}
        for s in self.segments:
            spent[s.state] = spent.get(s.state, 0.0) + (s.end - s.start)
        return spent


def _seconds(event: Event) -> float:
    return parse_iso(event.time).timestamp()


def _close(row: Row, at: float, state: str, reason: str = "") -> None:
    """End the open segment at ``at`` and open one in ``state`` (merging a repeat)."""
    last = row.segments[-1]
    if last.state == state:
        return
    last.end = at
    if last.end <= last.start:
        row.segments.pop()
    row.segments.append(Segment(at, at, state, reason))


def _finish(row: Row, end: float) -> Row:
    row.segments[-1].end = end
    return row


def breaker_rows(
    events: Sequence[Event], current: Iterable[dict[str, Any]], start: float, end: float
) -> list[Row]:
    """One row per breaker seen in the window or stored now."""
    now_state = {str(b["name"]): str(b["state"]) for b in current}
    moves: dict[str, list[Event]] = {}
    for event in events:
        if event.type.startswith("breaker."):
            moves.setdefault(str(event.data.get("breaker") or event.subject), []).append(event)
    rows = []
    for name in sorted(set(now_state) | set(moves)):
        changes = moves.get(name, [])
        first = str(changes[0].data.get("from")) if changes else now_state.get(name, "closed")
        row = Row(name, "breaker", [Segment(start, start, first)])
        for event in changes:
            at = min(max(_seconds(event), start), end)
            _close(row, at, str(event.data.get("to")), str(event.data.get("reason") or ""))
        rows.append(_finish(row, end))
    return rows


def component_rows(
    events: Sequence[Event], current: Iterable[dict[str, Any]], start: float, end: float
) -> list[Row]:
    """The daemon's row (up or down) and one per component (running, isolated, down), with a
    mark at each restart."""
    names = {str(c["name"]) for c in current}
    names |= {str(e.data.get("component")) for e in events if e.type.startswith("component.")}
    lifecycle = [e for e in events if e.type.startswith("daemon.process.")]
    # Before the first start or stop in the window: up if it stopped first (it ran before),
    # down if it started first; with neither, it ran all along (it serves this page now).
    before = "down" if lifecycle and lifecycle[0].type == catalog.DAEMON_STARTED else "running"
    daemon = Row("daemon", "daemon", [Segment(start, start, before)])
    rows = {name: Row(name, "component", [Segment(start, start, before)]) for name in names}
    for event in events:
        at = min(max(_seconds(event), start), end)
        if event.type == catalog.DAEMON_STARTED:
            _close(daemon, at, "running")
            for row in rows.values():
                _close(row, at, "running")
        elif event.type == catalog.DAEMON_STOPPED:
            _close(daemon, at, "down")
            for row in rows.values():
                _close(row, at, "down")
        elif event.type == catalog.COMPONENT_ISOLATED:
            row = rows[str(event.data.get("component"))]
            _close(row, at, "isolated", str(event.data.get("error") or ""))
        elif event.type == catalog.COMPONENT_RESTARTED:
            row = rows[str(event.data.get("component"))]
            error = str(event.data.get("error") or "")
            row.marks.append((at, f"restarted: {error}" if error else "restarted"))
    ordered = [_finish(daemon, end)]
    ordered += [_finish(rows[name], end) for name in sorted(rows)]
    return ordered
