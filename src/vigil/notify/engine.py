"""The notifier: requests in, decisions out, on a clock that is always handed in.

:meth:`Notifier.handle` takes one event and ``now`` and returns the decision events it makes:

- ``notification.requested``: validated (a malformed one is *rejected*: a suppressed decision
  with gate ``request``, so it is still in the inbox), counted, scored, run through the gates;
- ``attention.focus.changed``, ``attention.condition.resolved``, activity (anything a person did
  through the CLI, file changes, commits, branch switches): remembered;
- ``clock.ticked``: nothing but the clock moving.

Before any of that, every deferral due by then is released: looked at again by the same gates
at its own due time (its second decision; same ``causation_id``, the request).

Two clocks (``[attention] clock``): ``system`` uses the ``now`` the caller hands in (the daemon's
clock; a timer component calls :meth:`release_due` between events); ``events`` uses the time of
the event being handled (never going back), so a recorded day replays exactly, whatever the
wall clock says, and decisions carry that time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from vigil.clock import isoformat, parse_iso
from vigil.errors import ValidationError
from vigil.events import catalog
from vigil.events.model import Event, new_event
from vigil.notify.gates import Decision, Policy, View, decide
from vigil.notify.request import INTERRUPTING, LEVELS, Request, parse_request
from vigil.notify.significance import score
from vigil.notify.state import AttentionState, Pending
from vigil.notify.topics import OBSERVED

__all__ = ["OBSERVED", "Notifier"]

SOURCE = "vigil.notifier"
MAX_DECIDED = 50_000
_KIND_TYPE = {
    "delivered": catalog.NOTIFICATION_DELIVERED,
    "deferred": catalog.NOTIFICATION_DEFERRED,
    "suppressed": catalog.NOTIFICATION_SUPPRESSED,
}


class _At:
    """A clock stopped at one moment, so decision events carry the decision's own time."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        raise NotImplementedError


class Notifier:
    """Decides every request; holds the state the gates read (see :mod:`vigil.notify.state`)."""

    def __init__(
        self, policy: Policy, *, clock: str = "system", state: AttentionState | None = None
    ) -> None:
        self.policy = policy
        self.events_clock = clock == "events"
        self.state = state or AttentionState()
        self._decided: OrderedDict[str, str] = OrderedDict()
        self.last: Decision | None = None

    # -- the clock ---------------------------------------------------------------------------

    def moment(self, event: Event | None, now: datetime) -> datetime:
        """The ``now`` for handling ``event``: ``now``, or on the event clock the event's time
        (never earlier than a time already handled)."""
        if not self.events_clock:
            return now
        moment = parse_iso(event.time) if event is not None else now
        clock = self.state.clock
        if clock is not None and moment < clock:
            moment = clock
        self.state.clock = moment
        return moment

    def next_due(self) -> datetime | None:
        return self.state.next_due()

    # -- handling ----------------------------------------------------------------------------

    def handle(self, event: Event, now: datetime) -> list[Event]:
        """Decisions caused by ``event`` (and by the deferrals due before it)."""
        moment = self.moment(event, now)
        out = self.release_due(moment)
        if event.type == catalog.NOTIFICATION_REQUESTED:
            out.extend(self._request(event, moment))
        else:
            seen_at = parse_iso(event.time)
            self.state.apply(event, seen_at if seen_at <= moment else moment)
            if event.type == catalog.ATTENTION_FOCUS_CHANGED:
                self._rearm_context(moment)
        return out

    def release_due(self, now: datetime) -> list[Event]:
        """Look again at every deferral due by ``now``, each at its own due time on the event
        clock (so a release carries the time it was due, not the time it was noticed).

        What is released at one moment (the end of a focus or a meeting) interrupts once: the
        most significant release leads, the others are shown without interrupting and named in
        the lead's ``bundle`` (``bundled_into`` on each)."""
        out: list[Event] = []
        lead: tuple[int, datetime] | None = None  # (index in out, its moment)
        while True:
            pending = self.state.pop_due(now)
            if pending is None:
                return out
            moment = pending.until if self.events_clock else now
            view = View(moment, self.state, self.policy)
            decision = decide(
                pending.request,
                view,
                pending.score,
                pending.parts,
                released=pending.gate,
                deadline=pending.deadline,
            )
            if lead is not None and lead[1] != moment:
                lead = None
            bundled_into = None
            if decision.interrupts and lead is not None:
                bundled_into = out[lead[0]]
                quiet = tuple(c for c in decision.channels if c not in INTERRUPTING)
                decision = replace(
                    decision,
                    channels=quiet,
                    reason=f"{decision.reason}; released with others: one interruption",
                    flags=decision.flags | {"bundled"},
                )
            event = self._emit(pending.request, decision, moment, released=pending)
            if bundled_into is not None and lead is not None:
                event = replace(event, data={**event.data, "bundled_into": bundled_into.id})
                bundle = [*bundled_into.data.get("bundle", []), pending.request.title]
                out[lead[0]] = replace(bundled_into, data={**bundled_into.data, "bundle": bundle})
            elif decision.interrupts:
                lead = (len(out), moment)
            out.append(event)

    def _rearm_context(self, moment: datetime) -> None:
        """Focus changed: what focus held is looked at again now (it may still wait for a
        meeting, or be delivered)."""
        for pending in list(self.state.pending.values()):
            if pending.gate == "context" and pending.until > moment:
                self.state.defer(replace(pending, until=moment))

    def _request(self, event: Event, now: datetime) -> list[Event]:
        if event.id in self._decided:
            return []  # handled before (a replayed delivery): the first decision stands
        try:
            request = parse_request(event)
        except ValidationError as exc:
            return [self._reject(event, str(exc), now)]
        cond = self.state.peek(request.key)
        value, parts = score(request.severity, request.signals, cond.requests if cond else 0)
        self.state.note_request(request, self.policy.flap_window)
        decision = decide(request, View(now, self.state, self.policy), value, parts)
        return [self._emit(request, decision, now)]

    def _reject(self, event: Event, why: str, now: datetime) -> Event:
        data = {
            "request_id": event.id,
            "gate": "request",
            "reason": f"rejected: {why}",
            "score": 0.0,
            "rejected": True,
            "title": str(event.data.get("title") or "")[:300],
            "trace": [{"gate": "request", "outcome": "reject", "reason": why}],
        }
        self._remember(event.id, "suppressed")
        return new_event(
            catalog.NOTIFICATION_SUPPRESSED,
            data,
            clock=_At(now),
            source=SOURCE,
            subject=event.subject,
            cause=event,
        )

    def _emit(
        self, request: Request, decision: Decision, now: datetime, released: Pending | None = None
    ) -> Event:
        self.last = decision
        data: dict[str, Any] = {
            "request_id": request.id,
            "gate": decision.gate,
            "reason": decision.reason,
            "score": decision.score,
            "score_parts": dict(decision.parts),
            "severity": request.severity,
            "level": LEVELS[decision.level],
            "title": request.title,
            "fingerprint": request.key,
            "trace": [step.to_dict() for step in decision.trace],
        }
        if decision.kind == "delivered":
            data["channel"] = decision.channel
            data["channels"] = list(decision.channels)
            data["interrupts"] = decision.interrupts
            data["repeat"] = decision.repeat
            if request.own:
                data["own"] = True
        if decision.until is not None:
            data["until"] = isoformat(decision.until)
            if decision.deadline is not None:
                data["deadline"] = isoformat(max(decision.deadline, decision.until))
        if decision.flags:
            data["flags"] = sorted(decision.flags)
        if released is not None:
            data["released"] = {"gate": released.gate, "reason": released.reason}
            data["waited_s"] = round((now - request.time).total_seconds(), 3)
        cause = request.event
        event = new_event(
            _KIND_TYPE[decision.kind],
            data,
            clock=_At(now),
            source=SOURCE,
            subject=request.subject,
            fingerprint=request.key,
            cause=cause,
        )
        if cause is None:  # requests rebuilt without their event still name it
            event = replace(event, causation_id=request.id)
        self.state.apply(event, now, request)
        self._remember(request.id, decision.kind)
        return event

    def _remember(self, request_id: str, kind: str) -> None:
        self._decided[request_id] = kind
        self._decided.move_to_end(request_id)
        while len(self._decided) > MAX_DECIDED:
            self._decided.popitem(last=False)

    # -- rebuilding --------------------------------------------------------------------------

    def rebuild(self, events: Iterable[Event], upto: int | None = None) -> int:
        """Apply stored events (oldest first) without deciding anything: the state a notifier
        that had handled them would hold. Past the consumer's offset ``upto`` only decisions
        count (a timer's releases); the rest the consumer will hand over again. Returns how
        many were applied."""
        requests: dict[str, Request] = {}
        applied = 0
        for event in events:
            decision = event.type in catalog.NOTIFICATION_DECISIONS
            if upto is not None and (event.seq or 0) > upto and not decision:
                continue
            applied += 1
            moment = parse_iso(event.time)
            if self.events_clock and (self.state.clock is None or moment > self.state.clock):
                self.state.clock = moment
            if event.type == catalog.NOTIFICATION_REQUESTED:
                try:
                    request = parse_request(event)
                except ValidationError:
                    continue
                requests[request.id] = request
                self.state.note_request(request, self.policy.flap_window)
            elif event.type in catalog.NOTIFICATION_DECISIONS:
                request_id = str(event.data.get("request_id") or "")
                self._remember(request_id, event.type.rsplit(".", 1)[1])
                self.state.apply(event, moment, requests.get(request_id))
                if event.type != catalog.NOTIFICATION_DEFERRED:
                    requests.pop(request_id, None)
            else:
                self.state.apply(event, moment)
                if event.type == catalog.ATTENTION_FOCUS_CHANGED:
                    self._rearm_context(moment)
        return applied
