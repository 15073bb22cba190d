"""What the gates remember: conditions by fingerprint, focus, activity, pending deferrals.

The state is derived from events, never stored on its own: the notifier applies every event it
handles (observations such as focus or activity) and every decision it makes, and a restarted
daemon rebuilds the same state by applying the stored events again (:meth:`AttentionState.apply`
is the one path for both). Sizes are bounded: conditions and decided ids are evicted oldest
first, time windows are trimmed as they are read.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vigil.clock import parse_iso
from vigil.events import catalog
from vigil.events.model import Event
from vigil.notify.request import Request

MAX_CONDITIONS = 20_000
MAX_FILES = 200
RATE_WINDOW = timedelta(hours=1)
ACTIVITY_TYPES = (
    "file.changed",
    "git.commit.created",
    "git.branch.switched",
    catalog.ATTENTION_FOCUS_CHANGED,
)


@dataclass(slots=True)
class Condition:
    """Everything about one fingerprint: how often asked, told, resolved."""

    requests: int = 0
    first_seen: datetime | None = None
    last_request: datetime | None = None
    fires: deque[datetime] = field(default_factory=deque)
    resolves: deque[datetime] = field(default_factory=deque)
    resolved_at: datetime | None = None
    delivered: int = 0  # deliveries in the current streak (the cooldown doubles with each)
    last_delivered: datetime | None = None
    last_delivered_id: str | None = None
    flap_told: datetime | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A deferred request, waiting for ``until``."""

    request: Request
    until: datetime
    deadline: datetime
    gate: str
    reason: str
    score: float
    parts: Mapping[str, float]


class AttentionState:
    """The notifier's memory; every change goes through :meth:`apply` or :meth:`note_request`."""

    def __init__(self) -> None:
        self.clock: datetime | None = None  # the event clock: the latest event time handled
        self.focus_until: datetime | None = None
        self.last_activity: datetime | None = None
        self.activity: str | None = None
        self.branch: str | None = None
        self.repository: str | None = None
        self.files: OrderedDict[str, datetime] = OrderedDict()
        self.conditions: OrderedDict[str, Condition] = OrderedDict()
        self.sends: dict[str, deque[datetime]] = {}
        self.interruptions: deque[datetime] = deque()
        self.pending: dict[str, Pending] = {}
        self._timers: list[tuple[datetime, int, str]] = []
        self._timer_seq = 0

    # -- reading -----------------------------------------------------------------------------

    def condition(self, key: str) -> Condition:
        found = self.conditions.get(key)
        if found is None:
            found = self.conditions[key] = Condition()
            if len(self.conditions) > MAX_CONDITIONS:
                self.conditions.popitem(last=False)
        return found

    def peek(self, key: str) -> Condition | None:
        return self.conditions.get(key)

    def sent_within(self, channel: str, now: datetime, window: timedelta = RATE_WINDOW) -> int:
        times = self.sends.get(channel)
        if not times:
            return 0
        while times and times[0] <= now - window:
            times.popleft()
        return len(times)

    def interrupted_within(self, now: datetime, window: timedelta) -> int:
        """Interruptions (deliveries on a channel that interrupts) in the last ``window``."""
        times = self.interruptions
        while times and times[0] <= now - RATE_WINDOW:
            times.popleft()
        return sum(1 for t in times if t > now - window)

    def next_due(self) -> datetime | None:
        """When the earliest pending deferral is to be looked at again."""
        while self._timers and self._timers[0][2] not in self.pending:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def pop_due(self, now: datetime) -> Pending | None:
        """The earliest deferral due at ``now`` (removed from the timers, not from pending)."""
        while self._timers:
            until, _, request_id = self._timers[0]
            pending = self.pending.get(request_id)
            if pending is None or pending.until != until:
                heapq.heappop(self._timers)  # decided meanwhile, or re-armed for another time
                continue
            if until > now:
                return None
            heapq.heappop(self._timers)
            return pending
        return None

    # -- changing ----------------------------------------------------------------------------

    def note_request(self, request: Request, flap_window: timedelta) -> None:
        """A request arrived (counted whatever the decision)."""
        cond = self.condition(request.key)
        self.conditions.move_to_end(request.key)
        cond.requests += 1
        cond.first_seen = cond.first_seen or request.time
        cond.last_request = request.time
        cond.fires.append(request.time)
        while cond.fires and cond.fires[0] <= request.time - flap_window:
            cond.fires.popleft()
        if request.own:
            self.saw_person(request.time, "vigil notify")

    def defer(self, pending: Pending) -> None:
        self.pending[pending.request.id] = pending
        self._timer_seq += 1
        heapq.heappush(self._timers, (pending.until, self._timer_seq, pending.request.id))

    def saw_person(self, moment: datetime, what: str) -> None:
        if self.last_activity is None or moment >= self.last_activity:
            self.last_activity = moment
            self.activity = what

    def apply(self, event: Event, moment: datetime, request: Request | None = None) -> None:
        """Apply one event (an observation or a decision) at ``moment``.

        Decisions need the request they decide (``request``) to re-arm a deferral on rebuild.
        """
        kind = event.type
        data = event.data
        if kind in catalog.NOTIFICATION_DECISIONS:
            self._apply_decision(kind, data, moment, request)
        elif kind == catalog.ATTENTION_FOCUS_CHANGED:
            until = data.get("until")
            self.focus_until = parse_iso(until) if isinstance(until, str) and until else None
            if event.source in ("vigil.cli", "vigil.voice"):
                self.saw_person(moment, "vigil focus")
        elif kind == catalog.ATTENTION_CONDITION_RESOLVED:
            key = data.get("fingerprint")
            if isinstance(key, str):
                cond = self.condition(key)
                cond.resolved_at = moment
                cond.resolves.append(moment)
        elif kind == catalog.CLOCK_TICKED:
            pass
        else:
            self._observe_activity(event, moment)

    def _observe_activity(self, event: Event, moment: datetime) -> None:
        data = event.data
        if event.source != "vigil.cli" and event.type not in ACTIVITY_TYPES:
            return
        self.saw_person(moment, event.type)
        git = data.get("git") if isinstance(data.get("git"), dict) else {}
        branch = data.get("branch") or (git or {}).get("branch")
        if isinstance(branch, str) and branch:
            self.branch = branch
        root = (git or {}).get("root") or data.get("repository")
        if isinstance(root, str) and root:
            self.repository = root
        paths = data.get("paths") or data.get("files") or []
        if isinstance(paths, list):
            for path in paths[:MAX_FILES]:
                if isinstance(path, str):
                    self.files[path] = moment
                    self.files.move_to_end(path)
            while len(self.files) > MAX_FILES:
                self.files.popitem(last=False)

    def _apply_decision(
        self, kind: str, data: Mapping[str, Any], moment: datetime, request: Request | None
    ) -> None:
        request_id = str(data.get("request_id") or "")
        key = data.get("fingerprint") or (request.key if request is not None else None)
        if kind == catalog.NOTIFICATION_DEFERRED:
            if request is not None and isinstance(data.get("until"), str):
                deadline = data.get("deadline") or data["until"]
                self.defer(
                    Pending(
                        request=request,
                        until=parse_iso(data["until"]),
                        deadline=parse_iso(deadline),
                        gate=str(data.get("gate")),
                        reason=str(data.get("reason")),
                        score=float(data.get("score") or 0.0),
                        parts=dict(data.get("score_parts") or {}),
                    )
                )
            return
        self.pending.pop(request_id, None)
        if kind != catalog.NOTIFICATION_DELIVERED or not isinstance(key, str):
            return
        cond = self.condition(key)
        if not data.get("own"):
            cond.delivered = int(data.get("repeat") or cond.delivered + 1)
            cond.last_delivered = moment
            cond.last_delivered_id = request_id
        if "flapping" in (data.get("flags") or ()):
            cond.flap_told = moment
        for channel in data.get("channels") or ():
            self.sends.setdefault(str(channel), deque()).append(moment)
        if data.get("interrupts"):
            self.interruptions.append(moment)
