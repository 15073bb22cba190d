"""Every event type Vigil itself publishes, declared once, with its payload.

Sources and handlers use these constants instead of string literals. ``validate_known`` checks
the payload of an ingested event whose type is in this catalog, so that a malformed
``build.run.failed`` is rejected at the door instead of confusing triage later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from vigil.errors import ValidationError

BUILD_RUN_STARTED = "build.run.started"
BUILD_RUN_PASSED = "build.run.passed"
BUILD_RUN_FAILED = "build.run.failed"
TRIAGE_COMPLETED = "triage.completed"
TRIAGE_ENRICHED = "triage.enriched"
FIX_LEARNED = "knowledge.fix.learned"
CONSUMER_FAILED = "bus.handler.failed"
DAEMON_STARTED = "daemon.process.started"
DAEMON_STOPPED = "daemon.process.stopped"
COMPONENT_RESTARTED = "component.process.restarted"
COMPONENT_ISOLATED = "component.process.isolated"
NOTIFICATION_REQUESTED = "notification.requested"
BREAKER_OPENED = "breaker.opened"
BREAKER_HALF_OPENED = "breaker.half_opened"
BREAKER_CLOSED = "breaker.closed"
# Attention (issue 16): the notifier's decisions, focus, the event clock.
NOTIFICATION_DELIVERED = "notification.delivered"
NOTIFICATION_DEFERRED = "notification.deferred"
NOTIFICATION_SUPPRESSED = "notification.suppressed"
NOTIFICATION_FAILED = "notification.failed"
NOTIFICATION_DECISIONS = (NOTIFICATION_DELIVERED, NOTIFICATION_DEFERRED, NOTIFICATION_SUPPRESSED)
ATTENTION_FOCUS_CHANGED = "attention.focus.changed"
ATTENTION_CONDITION_RESOLVED = "attention.condition.resolved"
CLOCK_TICKED = "clock.ticked"


class NotificationRequested(TypedDict):
    """Payload of ``notification.requested``: any part of Vigil asks the notifier with it."""

    title: str
    body: NotRequired[str]
    severity: str  # info | warning | error | critical
    fingerprint: NotRequired[str]  # what makes two requests "the same thing"
    subject: NotRequired[str]
    links: NotRequired[list[Any]]
    signals: NotRequired[dict[str, Any]]  # facts for the gates (novel, branch, resolvable...)


class NotificationDecision(TypedDict):
    """Payload of ``notification.delivered|deferred|suppressed``; causation = the request."""

    request_id: str
    gate: str
    reason: str
    score: float
    channel: NotRequired[str]  # delivered: the most interrupting channel it went to
    channels: NotRequired[list[str]]
    until: NotRequired[str]  # deferred: when it is looked at again


# Control (vigil.guard): a proposal's life, and the seam other parts ask for one through.
ACTION_REQUESTED = "action.requested"
ACTION_PROPOSED = "action.proposed"
ACTION_APPROVED = "action.approved"
ACTION_DENIED = "action.denied"
ACTION_EXPIRED = "action.expired"
ACTION_EXECUTED = "action.executed"
ACTION_FAILED = "action.failed"


# Voice (sources/voice, app/voice): a command addressed to Vigil and the spoken answer; the
# effects it asks for are owned by attention and control (they consume those events).
VOICE_COMMAND_HEARD = "voice.command.heard"
VOICE_ANSWER_SPOKEN = "voice.answer.spoken"


# Hearing (issue 8): CI, alerts, files, git, probes, chores.
CI_RUN_FAILED = "ci.run.failed"
CI_RUN_PASSED = "ci.run.passed"
CI_SUITE_COMPLETED = "ci.suite.completed"
CI_STATUS_REPORTED = "ci.status.reported"
GIT_PUSH_RECEIVED = "git.push.received"
GIT_PULL_REQUEST = "git.pull_request"  # + "." + the action: git.pull_request.opened
GIT_COMMIT_CREATED = "git.commit.created"
GIT_BRANCH_SWITCHED = "git.branch.switched"
GIT_MERGE_COMPLETED = "git.merge.completed"
ALERT_FIRED = "alert.fired"
ALERT_RESOLVED = "alert.resolved"
FILE_CHANGED = "file.changed"
PROBE_FAILED = "probe.failed"
PROBE_RECOVERED = "probe.recovered"
CHORE_COMPLETED = "chore.run.completed"
CHORE_FAILED = "chore.run.failed"
REPORT_DAILY = "report.status.created"
REPORT_PERFORMANCE = "report.performance.created"


# Logs (issue 9): what a followed log shows that is new or unusual.
LOG_ANOMALY_DETECTED = "log.anomaly.detected"
LOG_ANOMALY_KINDS = ("new_template", "rate_spike", "error_burst")


class GitState(TypedDict, total=False):
    """Where the working tree stood when a command ran."""

    root: str
    branch: str | None
    head: str | None
    dirty: list[str]
    blobs: dict[str, str]  # dirty path -> git blob id ("-" when deleted)
    tree: str  # hash of HEAD plus the content of every dirty file: equal means unchanged tree


class BuildRunStarted(TypedDict):
    command: str
    argv: list[str]
    cwd: str
    git: NotRequired[GitState | None]


class BuildRunFinished(TypedDict):
    """Payload of ``build.run.passed`` and ``build.run.failed``."""

    command: str
    argv: list[str]
    cwd: str
    exit_code: int
    duration_ms: float
    output_tail: str
    output_bytes: NotRequired[int]
    truncated: NotRequired[bool]
    git: NotRequired[GitState | None]


class TriageCompleted(TypedDict):
    """Payload of ``triage.completed``; ``causation_id`` is the failure's event id."""

    failures: list[dict[str, Any]]
    fingerprint: str
    tools: list[str]
    known_fixes: list[dict[str, Any]]
    suspects: list[dict[str, Any]]
    history: dict[str, Any]
    summary: str
    elapsed_ms: float


class LogAnomalyDetected(TypedDict):
    """Payload of ``log.anomaly.detected``: what is unusual in a followed log, with the evidence
    (sample lines) and the baseline it was judged against. ``subject`` is the path."""

    path: str
    kind: str  # one of LOG_ANOMALY_KINDS
    template: str
    template_id: NotRequired[str]
    samples: list[str]
    baseline: dict[str, Any]
    level: NotRequired[str | None]


_FIELD_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    BUILD_RUN_STARTED: {"command": (str,), "cwd": (str,), "argv": (list,)},
    BUILD_RUN_PASSED: {
        "command": (str,),
        "cwd": (str,),
        "exit_code": (int,),
        "duration_ms": (int, float),
        "output_tail": (str,),
        "git": (dict, type(None)),
    },
    BUILD_RUN_FAILED: {
        "command": (str,),
        "cwd": (str,),
        "exit_code": (int,),
        "duration_ms": (int, float),
        "output_tail": (str,),
        "git": (dict, type(None)),
    },
    ACTION_REQUESTED: {
        "action": (str,),
        "args": (dict,),
        "why": (str,),
        "evidence": (dict,),
        "proposer": (str,),
        "expires_s": (int, float),
    },
    LOG_ANOMALY_DETECTED: {
        "path": (str,),
        "kind": (str,),
        "template": (str,),
        "samples": (list,),
        "baseline": (dict,),
    },
}


class ActionRequested(TypedDict):
    """Payload of ``action.requested``: any part (a handler, the voice intents) asks Vigil to
    propose an action; the guard's handler judges it and records ``action.proposed`` (or
    ``action.denied`` at once), with this event as its cause. ``proposer`` names the asker
    (``handler:triage``, ``voice``, ``model:...``); it can never approve."""

    action: str
    args: dict[str, Any]
    why: NotRequired[str]
    evidence: NotRequired[dict[str, Any]]
    proposer: NotRequired[str]
    expires_s: NotRequired[float]


class ActionProposed(TypedDict):
    """Payload of ``action.proposed`` (subject: the proposal id)."""

    proposal_id: str
    action: str
    args: dict[str, Any]
    risk: str
    effect: str
    why: str
    evidence: dict[str, Any]
    proposer: str
    expires_at: str
    status: str
    policy: dict[str, Any]
    flags: list[dict[str, str]]


def validate_known(event_type: str, data: Mapping[str, Any]) -> None:
    """Raise :class:`ValidationError` when a catalogued event's fields have the wrong types."""
    for name, kinds in _FIELD_TYPES.get(event_type, {}).items():
        if name in data and (
            not isinstance(data[name], kinds)
            or (isinstance(data[name], bool) and bool not in kinds)
        ):
            expected = " or ".join(k.__name__ for k in kinds)
            raise ValidationError(f"{event_type}: field {name!r} must be {expected}")
