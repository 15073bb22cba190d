"""The five gates, in order, each a small function (the shape of structlog's processor chain).

A gate takes a :class:`Candidate` (the request, its interruption level, score, the channels still
open to it, and the trace so far) and the :class:`View` (``now``, the state, the policy) and
either returns the candidate, maybe changed (a lower level, fewer channels) with one more
:class:`Step` in its trace, or stops the chain with a :class:`Stop`: delivered, deferred (to the
digest, looked at again at ``until``) or suppressed (kept for the inbox and the digest).

    activity      is the person there: own requests pass; away lowers or keeps only remote channels
    intent        addressed to Vigil (a person's own `vigil notify`: always delivered) or about
                  what they work on (another branch lowers it one level)
    context       stale, already on screen, focus and meetings (deferred, bounded by a deadline
                  per severity), quiet hours (one level lower; critical breaks through)
    throttling    grace period, resolved meanwhile, flapping folded, repeats under a cooldown that
                  doubles, per-channel rate limits
    significance  the score against each channel's threshold: which channels, or the digest

Time is an input: every gate reads ``view.now``, never a clock (Alertmanager's ``WithNow``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from vigil.config import AttentionSettings
from vigil.notify.hours import Window, local_text, zone
from vigil.notify.request import (
    ACTIVE,
    CHANNEL_ORDER,
    CHANNELS_BY_LEVEL,
    CRITICAL,
    INTERRUPTING,
    LEVELS,
    PASSIVE,
    TIME_SENSITIVE,
    Request,
)
from vigil.notify.significance import FLOOR, THRESHOLDS
from vigil.notify.state import AttentionState

Kind = Literal["delivered", "deferred", "suppressed"]
LOCAL_LOUD = frozenset({"desktop", "spoken"})
MAIN_BRANCHES = frozenset({"main", "master", "trunk", "develop"})
PER_HOUR = {"desktop": 20, "webhook": 12, "spoken": 4}


@dataclass(frozen=True, slots=True)
class Policy:
    """The gates' settings, resolved once from ``[attention]``."""

    zone: tzinfo | None = None
    quiet: Window | None = None
    meetings: tuple[Window, ...] = ()
    idle: timedelta = timedelta(minutes=15)
    grace: timedelta = timedelta(seconds=90)
    cooldown: timedelta = timedelta(minutes=15)
    cooldown_max: timedelta = timedelta(hours=4)
    flap_window: timedelta = timedelta(hours=1)
    flap_count: int = 3
    look_away_s: float = 120.0
    stale: timedelta | None = timedelta(hours=6)  # None on the event clock: nothing is late
    deadlines: Mapping[str, timedelta] = field(
        default_factory=lambda: {
            "info": timedelta(hours=8),
            "warning": timedelta(hours=2),
            "error": timedelta(hours=1),
            "critical": timedelta(0),
        }
    )
    channels: frozenset[str] = frozenset({"dashboard", "terminal", "desktop"})
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(THRESHOLDS))
    per_hour: Mapping[str, int] = field(default_factory=lambda: dict(PER_HOUR))

    @property
    def remote(self) -> bool:
        return "webhook" in self.channels

    @classmethod
    def from_settings(cls, settings: AttentionSettings) -> Policy:
        """The policy ``[attention]`` describes (channels: the enabled ones)."""
        enabled = {"dashboard", "terminal", "desktop"}
        thresholds = dict(THRESHOLDS)
        per_hour = dict(PER_HOUR)
        for channel in settings.channels:
            if channel.enabled:
                enabled.add(channel.kind)
            else:
                enabled.discard(channel.kind)
            if channel.min_score is not None:
                thresholds[channel.kind] = channel.min_score
            if channel.max_per_hour is not None:
                per_hour[channel.kind] = channel.max_per_hour
        return cls(
            zone=zone(settings.timezone),
            quiet=Window.parse(settings.quiet_hours) if settings.quiet_hours else None,
            meetings=tuple(Window.parse(m) for m in settings.meetings),
            idle=timedelta(seconds=settings.idle_s),
            grace=timedelta(seconds=settings.grace_s),
            cooldown=timedelta(seconds=settings.cooldown_s),
            cooldown_max=timedelta(seconds=max(settings.cooldown_max_s, settings.cooldown_s)),
            flap_window=timedelta(seconds=settings.flap_window_s),
            flap_count=settings.flap_count,
            look_away_s=settings.look_away_s,
            stale=None if settings.clock == "events" else timedelta(seconds=settings.stale_s),
            deadlines={s: timedelta(seconds=v) for s, v in settings.deadlines},
            channels=frozenset(enabled),
            thresholds=thresholds,
            per_hour=per_hour,
        )

    def only(self, channels: frozenset[str]) -> Policy:
        """This policy restricted to the channels that can work here."""
        return replace(self, channels=self.channels & channels)


@dataclass(frozen=True, slots=True)
class Step:
    gate: str
    outcome: str  # pass, lower, narrow, defer, suppress, deliver
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"gate": self.gate, "outcome": self.outcome, "reason": self.reason}


@dataclass(slots=True)
class Candidate:
    """A request on its way through the gates (local to one :func:`decide` call; each gate
    changes it through :meth:`step`, which records why)."""

    request: Request
    level: int
    score: float
    parts: Mapping[str, float]
    channels: frozenset[str]
    deadline: datetime
    trace: list[Step] = field(default_factory=list)
    released: str | None = None  # the gate whose deferral this is the release of
    flags: frozenset[str] = frozenset()
    repeat: int = 1

    def step(
        self,
        gate: str,
        outcome: str,
        reason: str,
        *,
        level: int | None = None,
        channels: frozenset[str] | None = None,
        flags: frozenset[str] | None = None,
        repeat: int | None = None,
    ) -> Candidate:
        self.trace.append(Step(gate, outcome, reason))
        if level is not None:
            self.level = level
        if channels is not None:
            self.channels = channels
        if flags is not None:
            self.flags = flags
        if repeat is not None:
            self.repeat = repeat
        return self


@dataclass(frozen=True, slots=True)
class View:
    now: datetime
    state: AttentionState
    policy: Policy


@dataclass(frozen=True, slots=True)
class Stop:
    kind: Kind
    gate: str
    reason: str
    channels: tuple[str, ...] = ()
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What the chain decided for one request, with everything `vigil why` shows."""

    kind: Kind
    gate: str
    reason: str
    score: float
    parts: Mapping[str, float]
    level: int
    trace: tuple[Step, ...]
    channels: tuple[str, ...] = ()
    until: datetime | None = None
    deadline: datetime | None = None
    flags: frozenset[str] = frozenset()
    repeat: int = 1

    @property
    def channel(self) -> str | None:
        """The most interrupting channel it went to."""
        ranked = sorted(self.channels, key=CHANNEL_ORDER.index)
        return ranked[-1] if ranked else None

    @property
    def interrupts(self) -> bool:
        return self.kind == "delivered" and any(c in INTERRUPTING for c in self.channels)


Gate = Callable[[Candidate, View], "Candidate | Stop"]


def ago(delta: timedelta) -> str:
    """``42 s``, ``12 min``, ``3.5 h``, ``2 d``."""
    seconds = max(0.0, delta.total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    return f"{seconds / 86400:.0f} d"


def route(c: Candidate, v: View, *, thresholds: bool = True) -> tuple[str, ...]:
    """The channels this candidate reaches: its level's, still open, enabled, over threshold."""
    policy = v.policy
    return tuple(
        channel
        for channel in CHANNELS_BY_LEVEL[c.level]
        if channel in c.channels
        and channel in policy.channels
        and (not thresholds or c.score >= policy.thresholds.get(channel, 0.0))
    )


# -- the gates ---------------------------------------------------------------------------------


def activity(c: Candidate, v: View) -> Candidate | Stop:
    """Is the person there? Away: low levels wait in the terminal, high ones go remote."""
    if c.request.own:
        return c.step("activity", "pass", "your own request")
    focus = v.state.focus_until
    if focus is not None and focus > v.now:
        return c.step("activity", "pass", "you are in focus: present")
    last = v.state.last_activity
    if last is not None and v.now - last <= v.policy.idle:
        idle = v.now - last
        return c.step("activity", "pass", f"you were active {ago(idle)} ago ({v.state.activity})")
    away = (
        "away: no sign of you yet" if last is None else f"away: no activity for {ago(v.now - last)}"
    )
    if c.level >= TIME_SENSITIVE:
        if v.policy.remote:
            return c.step(
                "activity",
                "narrow",
                f"{away}: remote channels only",
                channels=c.channels - LOCAL_LOUD,
            )
        return c.step("activity", "pass", f"{away}; no remote channel configured: local ones")
    if c.level > PASSIVE:
        return c.step(
            "activity",
            "lower",
            f"{away}: kept in the terminal for when you are back",
            level=PASSIVE,
        )
    return c.step("activity", "pass", away)


def intent(c: Candidate, v: View) -> Candidate | Stop:
    """Addressed to Vigil by a person (always delivered), or about what they work on."""
    request = c.request
    if request.own:
        c.level = max(c.level, ACTIVE)
        return Stop(
            "delivered",
            "intent",
            "you asked for it (vigil notify): always delivered",
            channels=route(c, v, thresholds=False),
        )
    signals = request.signals
    branch = signals.get("branch")
    current = v.state.branch
    if isinstance(branch, str) and branch and current:
        if branch == current:
            return c.step("intent", "pass", f"about your branch {current}")
        if branch not in MAIN_BRANCHES and PASSIVE < c.level < CRITICAL:
            return c.step(
                "intent",
                "lower",
                f"about branch {branch}; you work on {current}: one level lower",
                level=c.level - 1,
            )
    files = signals.get("files")
    if isinstance(files, list) and v.state.files:
        touched = [f for f in files if isinstance(f, str) and f in v.state.files]
        if touched:
            return c.step("intent", "pass", f"about files you touched: {', '.join(touched[:3])}")
    return c.step("intent", "pass", "nothing says it is unrelated to your work")


def context(c: Candidate, v: View) -> Candidate | Stop:
    """Stale, already on screen, focus, meetings and quiet hours."""
    request, policy, now = c.request, v.policy, v.now
    if policy.stale is not None and c.released is None and now - request.time > policy.stale:
        return Stop(
            "suppressed",
            "context",
            f"raised {ago(now - request.time)} ago (Vigil was not running): kept in the inbox",
        )
    signals = request.signals
    if signals.get("terminal"):
        duration = float(signals.get("duration_s") or 0.0)
        if duration < policy.look_away_s:
            return Stop(
                "suppressed",
                "context",
                "already on your screen: the terminal that ran it printed the diagnosis",
            )
        c = c.step(
            "context",
            "pass",
            f"it ran {ago(timedelta(seconds=duration))}: you may have looked away",
        )
    if c.level == CRITICAL:
        return c.step("context", "pass", "critical: breaks through focus, meetings, quiet hours")
    if c.level > PASSIVE:
        holds: list[tuple[datetime, str]] = []
        focus = v.state.focus_until
        if focus is not None and focus > now:
            holds.append((focus, f"focus until {local_text(focus, policy.zone)}"))
        for meeting in policy.meetings:
            end = meeting.end_after(now, policy.zone)
            if end is not None:
                holds.append((end, f"meeting {meeting.text}"))
        if holds:
            end, why = max(holds)
            if now >= c.deadline:
                waited = policy.deadlines.get(request.severity, timedelta(0))
                return c.step(
                    "context",
                    "pass",
                    f"{why}, but it waited its deadline ({ago(waited)} for {request.severity})",
                )
            until = min(end, c.deadline)
            note = " (its deadline)" if until < end else ""
            return Stop(
                "deferred",
                "context",
                f"{why}: held until {local_text(until, policy.zone)}{note}",
                until=until,
            )
    quiet = policy.quiet
    if quiet is not None and c.level > PASSIVE and quiet.end_after(now, policy.zone) is not None:
        lower = c.level - 1
        return c.step(
            "context",
            "lower",
            f"quiet hours {quiet.text}: {LEVELS[c.level]} lowered to {LEVELS[lower]}",
            level=lower,
        )
    return c.step("context", "pass", "no focus, meeting or quiet hours")


def throttling(c: Candidate, v: View) -> Candidate | Stop:
    """Grace period, resolved meanwhile, flapping, cooldown, per-channel rate limits."""
    request, policy, now = c.request, v.policy, v.now
    cond = v.state.peek(request.key)
    if (
        request.signals.get("resolvable")
        and c.level < CRITICAL
        and c.released != "throttling"
        and policy.grace > timedelta(0)
        and now < request.time + policy.grace
    ):
        due = request.time + policy.grace
        return Stop(
            "deferred",
            "throttling",
            f"grace period: told only if still failing at {local_text(due, policy.zone)}"
            f" ({ago(policy.grace)} after it began)",
            until=due,
        )
    if cond is not None and cond.resolved_at is not None and cond.resolved_at >= request.time:
        return Stop(
            "suppressed",
            "throttling",
            f"resolved {ago(cond.resolved_at - request.time)} after it was raised",
        )
    flapping = False
    if cond is not None:
        horizon = now - policy.flap_window
        fires = sum(1 for t in cond.fires if t > horizon)
        resolves = sum(1 for t in cond.resolves if t > horizon)
        if fires >= policy.flap_count and resolves >= policy.flap_count - 1:
            window = ago(policy.flap_window)
            told = cond.flap_told
            recent = cond.last_delivered
            if told is None and recent is not None and now - recent < policy.flap_window:
                told = recent  # told about it within the window: that notice stands for it
            if told is not None and now - told < policy.flap_window:
                return Stop(
                    "suppressed",
                    "throttling",
                    f"flapping ({fires} times in {window}): folded into the notice of "
                    f"{local_text(told, policy.zone)}",
                )
            flapping = True
            c = c.step(
                "throttling",
                "pass",
                f"flapping ({fires} times in {window}): told once, then folded",
                flags=c.flags | {"flapping"},
            )
    repeat = 1
    if not flapping and cond is not None and cond.last_delivered is not None:
        since = now - cond.last_delivered
        ongoing = cond.resolved_at is None or cond.resolved_at < cond.last_delivered
        if request.signals.get("resolvable") and ongoing and since < policy.cooldown_max:
            return Stop(
                "suppressed",
                "throttling",
                f"still firing: told {ago(since)} ago ({cond.last_delivered_id}) and not resolved"
                f" since; again after {ago(policy.cooldown_max)} if it goes on",
            )
        if since < policy.cooldown_max:
            streak = max(1, cond.delivered)
            wait = min(policy.cooldown * 2 ** (streak - 1), policy.cooldown_max)
            if since < wait:
                return Stop(
                    "suppressed",
                    "throttling",
                    f"repeat of {cond.last_delivered_id} told {ago(since)} ago: cooldown "
                    f"{ago(wait)} after {streak} notice{'s' if streak > 1 else ''} (it doubles)",
                )
            repeat = streak + 1
    full = []
    for channel in INTERRUPTING:
        limit = policy.per_hour.get(channel)
        if channel in c.channels and limit and v.state.sent_within(channel, now) >= limit:
            full.append(f"{channel} {limit}/h")
    if full:
        closed = frozenset(part.split()[0] for part in full)
        c = c.step(
            "throttling",
            "narrow",
            f"rate limit reached: {', '.join(full)}",
            channels=c.channels - closed,
        )
    reason = "first notice" if repeat == 1 else f"notice {repeat} after its cooldown"
    return c.step("throttling", "pass", reason, repeat=repeat)


def significance(c: Candidate, v: View) -> Candidate | Stop:
    """The score against each channel's threshold: where it goes, or only to the digest."""
    if c.score < FLOOR:
        return Stop(
            "suppressed", "significance", f"score {c.score:.2f} below {FLOOR}: only in the digest"
        )
    channels = route(c, v)
    loud = [ch for ch in channels if ch in INTERRUPTING]
    head = f"score {c.score:.2f}, {LEVELS[c.level]}"
    if loud:
        return Stop("delivered", "significance", f"{head}: {', '.join(loud)}", channels=channels)
    below = [
        f"{ch} needs {v.policy.thresholds.get(ch, 0):.2f}"
        for ch in CHANNELS_BY_LEVEL[c.level]
        if ch in INTERRUPTING and ch in c.channels and ch in v.policy.channels
    ]
    why = f" ({'; '.join(below)})" if below else ""
    return Stop(
        "delivered", "significance", f"{head}: shown without interrupting{why}", channels=channels
    )


GATES: tuple[tuple[str, Gate], ...] = (
    ("activity", activity),
    ("intent", intent),
    ("context", context),
    ("throttling", throttling),
    ("significance", significance),
)


def decide(
    request: Request,
    view: View,
    score: float,
    parts: Mapping[str, float],
    *,
    released: str | None = None,
    deadline: datetime | None = None,
) -> Decision:
    """Run ``request`` through every gate at ``view.now``; the first that stops decides."""
    if deadline is None:
        deadline = request.time + view.policy.deadlines.get(request.severity, timedelta(0))
    c = Candidate(
        request=request,
        level=request.level,
        score=score,
        parts=parts,
        channels=frozenset(CHANNEL_ORDER),
        deadline=deadline,
        released=released,
    )
    for name, gate in GATES:
        out = gate(c, view)
        if isinstance(out, Stop):
            outcome = {"delivered": "deliver", "deferred": "defer", "suppressed": "suppress"}
            trace = (*c.trace, Step(name, outcome[out.kind], out.reason))  # the final say
            return Decision(
                kind=out.kind,
                gate=out.gate,
                reason=out.reason,
                score=c.score,
                parts=c.parts,
                level=c.level,
                trace=trace,
                channels=out.channels,
                until=out.until,
                deadline=deadline,
                flags=c.flags,
                repeat=c.repeat,
            )
        c = out
    raise AssertionError("the significance gate always decides")  # pragma: no cover
