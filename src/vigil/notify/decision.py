"""What the gates work with: the policy, the candidate on its way, the step each gate leaves,
how a gate stops the chain, and the decision that comes out (:mod:`vigil.notify.gates` runs it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from vigil.config.attention import AttentionSettings
from vigil.notify.hours import Window, zone
from vigil.notify.request import CHANNEL_ORDER, CHANNELS_BY_LEVEL, INTERRUPTING, Request
from vigil.notify.significance import THRESHOLDS
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
    burst: int = 3  # interruptions within burst_window: more wait in the digest (not critical)
    burst_window: timedelta = timedelta(minutes=2)

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
