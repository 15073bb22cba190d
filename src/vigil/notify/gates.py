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

from collections.abc import Mapping
from datetime import datetime, timedelta

from vigil.notify.decision import (
    LOCAL_LOUD,
    MAIN_BRANCHES,
    Candidate,
    Decision,
    Gate,
    Policy,
    Step,
    Stop,
    View,
    ago,
    route,
)
from vigil.notify.hours import local_text
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
from vigil.notify.significance import FLOOR

__all__ = ["GATES", "Candidate", "Decision", "Policy", "Step", "View", "decide"]

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
        news = c.level == CRITICAL and not ongoing  # a critical that came back is news
        if since < policy.cooldown_max and not news:
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
    if c.level == CRITICAL:  # no rate limit holds a critical back
        return c.step("throttling", "pass", "critical: not rate limited", repeat=repeat)
    burst = v.state.interrupted_within(now, policy.burst_window)
    if burst >= policy.burst:
        return Stop(
            "suppressed",
            "throttling",
            f"burst: {burst} interruptions in the last {ago(policy.burst_window)}; this one waits"
            " in the digest",
        )
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
