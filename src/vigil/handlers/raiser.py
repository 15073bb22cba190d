"""Raising requests: the one place that turns what happened into ``notification.requested``.

Only the notifier decides and talks to channels; every part that has something to tell asks
through a request. This handler maps source events to requests (and to
``attention.condition.resolved`` when a condition that can resolve did), so a producer built
later plugs in by publishing its event, not by talking to anyone:

    triage.completed            a new failure (error), a failure that persists (warning), a
                                flaky one (info); a known fix goes in the body
    ci.run.failed / passed      CI failed (error on main, warning elsewhere) / resolved
    alert.fired / resolved      an alert, severity from its labels / resolved
    probe.failed / recovered    a probe failing (error) / resolved
    log.anomaly.detected        error bursts and rate spikes (warning: a hint, not a failure),
                                new templates (info)
    component.process.isolated  Vigil isolated one of its own components (error)
    action.proposed / expired   a proposal waits for approval (warning) / expired unanswered

A request's ``causation_id`` is the event it was raised for (so its correlation is that event's),
and its time is that event's time: on the event clock a request is decided when its cause
happened. ``signals`` carry the facts the gates need (novel, persisting, branch, files, CI,
production, resolvable, whether a terminal already showed it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from vigil.clock import parse_iso
from vigil.errors import NotFoundError
from vigil.events import catalog
from vigil.events.model import Event, new_event

if TYPE_CHECKING:  # the bus (asyncio) only when the handler runs: `vigil` reads start fast
    from vigil.events.bus import Outcome
    from vigil.events.log import SqliteEventLog

CONSUMER = "raiser"
SOURCE = "vigil.raiser"
# Produced elsewhere (issue 8: CI, alerts, probes; issue 9: logs; issue 11: proposals). Named
# here so this module works as soon as they exist; their producers declare them too.
CI_RUN_FAILED = "ci.run.failed"
CI_RUN_PASSED = "ci.run.passed"
ALERT_FIRED = "alert.fired"
ALERT_RESOLVED = "alert.resolved"
PROBE_FAILED = "probe.failed"
PROBE_RECOVERED = "probe.recovered"
LOG_ANOMALY = "log.anomaly.detected"
ACTION_PROPOSED = "action.proposed"
ACTION_EXPIRED = "action.expired"
RAISES_FOR = (
    catalog.TRIAGE_COMPLETED,
    CI_RUN_FAILED,
    CI_RUN_PASSED,
    ALERT_FIRED,
    ALERT_RESOLVED,
    PROBE_FAILED,
    PROBE_RECOVERED,
    LOG_ANOMALY,
    ACTION_PROPOSED,
    ACTION_EXPIRED,
)  # and component.process.isolated: the daemon raises that one itself (see app.daemon)
MAIN = frozenset({"main", "master", "trunk"})
_ALERT_SEVERITY = {
    "critical": "critical",
    "page": "critical",
    "emergency": "critical",
    "fatal": "critical",
    "error": "error",
    "high": "error",
    "major": "error",
    "warning": "warning",
    "warn": "warning",
    "minor": "warning",
    "medium": "warning",
    "info": "info",
    "low": "info",
    "none": "info",
}
# An anomaly is a statistical hint, not a confirmed failure: at most a warning.
_ANOMALY_SEVERITY = {"error_burst": "warning", "rate_spike": "warning", "new_template": "info"}


class _At:
    """A clock stopped at the cause's time: a request carries the time of what caused it."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        raise NotImplementedError


def _text(value: Any, limit: int = 300) -> str:
    return " ".join(str(value).split())[:limit] if value is not None else ""


def _short(text: str, size: int = 16) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:size]


def request_event(
    cause: Event,
    title: str,
    severity: str,
    fingerprint: str,
    *,
    body: str = "",
    links: list[Any] | None = None,
    signals: Mapping[str, Any] | None = None,
) -> Event:
    """A ``notification.requested`` caused by ``cause``, at ``cause``'s time."""
    data: dict[str, Any] = {"title": title, "body": body, "severity": severity}
    data["fingerprint"] = fingerprint
    if cause.subject:
        data["subject"] = cause.subject
    if links:
        data["links"] = links
    data["signals"] = {"raised_for": cause.type, **(signals or {})}
    return new_event(
        catalog.NOTIFICATION_REQUESTED,
        data,
        clock=_At(parse_iso(cause.time)),
        source=SOURCE,
        subject=cause.subject,
        fingerprint=fingerprint,
        cause=cause,
    )


def resolved_event(cause: Event, fingerprint: str) -> Event:
    return new_event(
        catalog.ATTENTION_CONDITION_RESOLVED,
        {"fingerprint": fingerprint, "resolved_by": cause.type},
        clock=_At(parse_iso(cause.time)),
        source=SOURCE,
        subject=cause.subject,
        fingerprint=fingerprint,
        cause=cause,
    )


def ci_key(data: Mapping[str, Any]) -> str:
    return f"ci:{data.get('repository')}:{data.get('workflow')}:{data.get('branch')}"


def alert_key(data: Mapping[str, Any]) -> str:
    if data.get("fingerprint"):
        return f"alert:{data['fingerprint']}"
    labels = data.get("labels") if isinstance(data.get("labels"), dict) else {}
    flat = ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))
    return f"alert:{data.get('alertname')}:{_short(flat)}"


def _triage(event: Event, failure: Event | None) -> Event:
    data = event.data
    history = data.get("history") if isinstance(data.get("history"), dict) else {}
    seen = int((history or {}).get("seen") or 0)
    flaky = bool((history or {}).get("flaky"))
    fixes = data.get("known_fixes") or []
    command = event.subject or (failure.subject if failure else None) or "a command"
    if flaky:
        title, severity = f"Flaky failure: {command}", "info"
    elif seen == 0:
        title, severity = f"New failure: {command}", "error"
    else:
        title, severity = f"Still failing ({seen + 1} times): {command}", "warning"
    body = _text(data.get("summary"), 500)
    if fixes and isinstance(fixes[0], dict):
        body += f"\nKnown fix: {_text(fixes[0].get('title'))}"
    fdata = failure.data if failure is not None else {}
    git = fdata.get("git") if isinstance(fdata.get("git"), dict) else {}
    branch = (git or {}).get("branch")
    signals: dict[str, Any] = {
        "novel": seen == 0,
        "seen": seen,
        "persisting": seen >= 2,
        "flaky": flaky,
        "fix_known": bool(fixes),
        "tests_failed": len(data.get("failures") or []),
        "files": [s.get("path") for s in data.get("suspects") or [] if isinstance(s, dict)][:10],
    }
    if branch:
        signals["branch"] = branch
        signals["main_branch"] = branch in MAIN
    if failure is not None and failure.source == "vigil.cli":
        signals["terminal"] = True
        signals["duration_s"] = round(float(fdata.get("duration_ms") or 0.0) / 1000, 3)
    fingerprint = f"build:{data.get('fingerprint') or event.fingerprint or _short(body)}"
    return request_event(event, title, severity, fingerprint, body=body, signals=signals)


def requests_for(event: Event, failure: Event | None = None) -> list[Event]:
    """The requests (and resolutions) ``event`` raises; ``failure`` is a triage's cause."""
    data = event.data
    kind = event.type
    if kind == catalog.TRIAGE_COMPLETED:
        return [_triage(event, failure)]
    if kind == CI_RUN_FAILED:
        branch = _text(data.get("branch")) or None
        where = f" on {branch}" if branch else ""
        repo = _text(data.get("repository"))
        title = f"CI failed: {_text(data.get('workflow')) or 'a workflow'}{where}"
        body = f"{repo} {(_text(data.get('head_sha')))[:12]} {_text(data.get('conclusion'))}"
        signals: dict[str, Any] = {"ci": True, "repository": repo}
        if branch:
            signals["branch"] = branch
            signals["main_branch"] = branch in MAIN
        links = [data["url"]] if isinstance(data.get("url"), str) else None
        # Main is everyone's; a feature branch's CI failing is its author's warning.
        severity = "error" if not branch or branch in MAIN else "warning"
        return [request_event(event, title, severity, ci_key(data), body=body.strip(),
                              links=links, signals=signals)]  # fmt: skip
    if kind == CI_RUN_PASSED:
        return [resolved_event(event, ci_key(data))]
    if kind == ALERT_FIRED:
        labels = data.get("labels") if isinstance(data.get("labels"), dict) else {}
        notes = data.get("annotations") if isinstance(data.get("annotations"), dict) else {}
        labels, notes = labels or {}, notes or {}
        level = str(labels.get("severity") or "").lower()
        severity = _ALERT_SEVERITY.get(level, "error")
        summary = _text(notes.get("summary"))
        title = f"Alert {_text(data.get('alertname')) or 'firing'}" + (
            f": {summary}" if summary else ""
        )
        env = str(labels.get("env") or labels.get("environment") or "").lower()
        links = [notes[k] for k in ("runbook_url", "dashboard") if isinstance(notes.get(k), str)]
        return [
            request_event(
                event,
                title,
                severity,
                alert_key(data),
                body=_text(notes.get("description") or summary, 1000),
                links=links or None,
                signals={"resolvable": True, "production": env in ("prod", "production")},
            )
        ]
    if kind == ALERT_RESOLVED:
        return [resolved_event(event, alert_key(data))]
    if kind == PROBE_FAILED:
        name = _text(data.get("name")) or "unnamed"
        body = f"{_text(data.get('kind'))} {_text(data.get('target'))}: {_text(data.get('error'))}"
        return [
            request_event(
                event,
                f"Probe {name} failing",
                "error",
                f"probe:{name}",
                body=body.strip(),
                signals={"resolvable": True},
            )
        ]
    if kind == PROBE_RECOVERED:
        return [resolved_event(event, f"probe:{_text(data.get('name')) or 'unnamed'}")]
    if kind == LOG_ANOMALY:
        path = _text(data.get("path"))
        anomaly = _text(data.get("kind")) or "anomaly"
        template = _text(data.get("template"), 500)
        samples = [_text(s, 200) for s in (data.get("samples") or [])[:3]]
        title = f"Log {anomaly.replace('_', ' ')} in {PurePath(path).name or path or 'a log'}"
        return [
            request_event(
                event,
                title,
                _ANOMALY_SEVERITY.get(anomaly, "warning"),
                f"log:{path}:{anomaly}:{_short(template)}",
                body="\n".join([template, *samples]).strip(),
            )
        ]
    if kind == catalog.COMPONENT_ISOLATED:
        name = _text(data.get("component")) or "unknown"
        body = (
            f"It crashed too often ({_text(data.get('error'))}); the rest keeps running. "
            "Restart the daemon once the cause is fixed."
        )
        title = f"Vigil isolated its component {name}"
        return [request_event(event, title, "error", f"component:{name}", body=body)]
    if kind == ACTION_PROPOSED:
        ident = _text(data.get("id") or event.subject or event.id)
        action = _text(data.get("action") or data.get("command") or "an action")
        why = _text(data.get("why"), 500)
        expires = _text(data.get("expires_at"))
        body = why + (f"\nExpires {expires}; vigil approve {ident} / vigil deny {ident}")
        return [
            request_event(
                event, f"Approval needed: {action}", "warning", f"proposal:{ident}", body=body
            )
        ]
    if kind == ACTION_EXPIRED:
        ident = _text(data.get("id") or event.subject or event.id)
        action = _text(data.get("action") or "a proposal")
        return [
            request_event(
                event,
                f"Proposal expired unanswered: {action}",
                "info",
                f"proposal:{ident}:expired",
            )
        ]
    return []


class Raiser:
    """The bus handler: one source event in, its requests out."""

    def __init__(self, log: SqliteEventLog) -> None:
        self.log = log

    def handle(self, event: Event) -> Outcome:
        from vigil.events.bus import Outcome

        failure = None
        if event.type == catalog.TRIAGE_COMPLETED and event.causation_id:
            try:
                failure = self.log.get(event.causation_id)
            except NotFoundError:
                failure = None
        return Outcome(events=requests_for(event, failure))
