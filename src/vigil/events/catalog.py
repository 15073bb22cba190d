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
    LOG_ANOMALY_DETECTED: {
        "path": (str,),
        "kind": (str,),
        "template": (str,),
        "samples": (list,),
        "baseline": (dict,),
    },
}


def validate_known(event_type: str, data: Mapping[str, Any]) -> None:
    """Raise :class:`ValidationError` when a catalogued event's fields have the wrong types."""
    for name, kinds in _FIELD_TYPES.get(event_type, {}).items():
        if name in data and (
            not isinstance(data[name], kinds)
            or (isinstance(data[name], bool) and bool not in kinds)
        ):
            expected = " or ".join(k.__name__ for k in kinds)
            raise ValidationError(f"{event_type}: field {name!r} must be {expected}")
