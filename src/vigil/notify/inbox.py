"""The inbox (every request with its decisions) and the digest (what was held back), from the log.

Nothing here is stored on its own: a request is its ``notification.requested`` event, its
decisions are the events whose ``causation_id`` is the request, and a channel that failed is a
``notification.failed`` caused by the delivery. So nothing can be in the log and missing here.

An entry's ``status`` is its latest decision: ``delivered``, ``deferred`` (waiting, in the
digest), ``suppressed`` (in the digest), ``rejected`` (malformed; kept so it is seen) or
``pending`` (no decision yet: the notifier has not run since it was asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from vigil.clock import isoformat, parse_iso
from vigil.events import catalog
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event
from vigil.notify.request import SEVERITIES, title_key

DEFAULT_WINDOW = timedelta(hours=24)


def _decision(event: Event) -> dict[str, Any]:
    data = event.data
    kind = event.type.rsplit(".", 1)[1]
    entry: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "outcome": "rejected" if data.get("rejected") else kind,
        "time": event.time,
        "gate": data.get("gate"),
        "reason": data.get("reason"),
        "score": data.get("score"),
    }
    for key in ("channel", "channels", "until", "interrupts", "released"):
        if key in data:
            entry[key] = data[key]
    return entry


def _entry(request: Event, decisions: Sequence[Event], failures: Sequence[Event]) -> dict[str, Any]:
    data = request.data
    title = data.get("title")
    made = [_decision(d) for d in decisions]
    latest = made[-1] if made else None
    severity = data.get("severity", "info")
    return {
        "id": request.id,
        "time": request.time,
        "source": request.source,
        "title": title if isinstance(title, str) else None,
        "body": data.get("body") or "",
        "severity": severity,
        "fingerprint": data.get("fingerprint")
        or request.fingerprint
        or (title_key(title) if isinstance(title, str) and title.strip() else None),
        "subject": data.get("subject") or request.subject,
        "links": data.get("links") or [],
        "causation_id": request.causation_id,
        "status": latest["outcome"] if latest else "pending",
        "decision": latest,
        "decisions": made,
        "failed": [
            {"channel": f.data.get("channel"), "error": f.data.get("error"), "time": f.time}
            for f in failures
        ],
    }


def inbox(
    log: SqliteEventLog, *, since: str | None = None, limit: int | None = 50
) -> list[dict[str, Any]]:
    """Requests (oldest first; the newest ``limit``), each with its decisions."""
    requests = log.find(
        patterns=[catalog.NOTIFICATION_REQUESTED],
        since=since,
        limit=limit if limit is not None else 10**9,
    )
    requests.reverse()
    ids = [r.id for r in requests]
    by_request: dict[str, list[Event]] = {i: [] for i in ids}
    for decision in log.caused_by(ids, catalog.NOTIFICATION_DECISIONS):
        by_request.setdefault(decision.causation_id or "", []).append(decision)
    delivered = [d.id for ds in by_request.values() for d in ds if d.type.endswith("delivered")]
    failures: dict[str, list[Event]] = {}
    for failure in log.caused_by(delivered, [catalog.NOTIFICATION_FAILED]):
        failures.setdefault(str(failure.data.get("request_id")), []).append(failure)
    return [_entry(r, by_request.get(r.id, []), failures.get(r.id, [])) for r in requests]


@dataclass(frozen=True, slots=True)
class DigestLine:
    """Held-back requests with one fingerprint, folded into one line."""

    fingerprint: str
    title: str
    severity: str
    count: int
    first: str
    last: str
    status: str
    gate: str | None
    reason: str | None
    request_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "title": self.title,
            "severity": self.severity,
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "status": self.status,
            "gate": self.gate,
            "reason": self.reason,
            "request_ids": list(self.request_ids),
        }

    def text(self) -> str:
        times = self.first[11:16] if self.count == 1 else f"{self.first[11:16]}-{self.last[11:16]}"
        count = f"{self.count}x" if self.count > 1 else "  "
        return (
            f"{count:>5} {self.severity:<8} {self.title}  [{times}, {self.status}: "
            f"{self.gate}: {self.reason}]"
        )


def default_since(log: SqliteEventLog) -> str | None:
    """The last 24 hours before the newest request (so a replayed day has its digest too)."""
    newest = log.find(patterns=[catalog.NOTIFICATION_REQUESTED], limit=1)
    if not newest:
        return None
    return isoformat(parse_iso(newest[0].time) - DEFAULT_WINDOW)


def digest(entries: Sequence[dict[str, Any]]) -> list[DigestLine]:
    """What was held back (suppressed or still deferred; not rejected), one line per
    fingerprint, the most severe and most recent first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry["status"] not in ("suppressed", "deferred"):
            continue
        groups.setdefault(str(entry["fingerprint"]), []).append(entry)
    lines = []
    for key, group in groups.items():
        latest = group[-1]
        decision = latest["decision"] or {}
        severity = max(
            (e["severity"] for e in group if e["severity"] in SEVERITIES),
            key=SEVERITIES.index,
            default="info",
        )
        lines.append(
            DigestLine(
                fingerprint=key,
                title=str(latest["title"]),
                severity=severity,
                count=len(group),
                first=group[0]["time"],
                last=latest["time"],
                status=latest["status"],
                gate=decision.get("gate"),
                reason=decision.get("reason"),
                request_ids=tuple(e["id"] for e in group[-5:]),
            )
        )
    lines.sort(key=lambda line: (SEVERITIES.index(line.severity), line.last), reverse=True)
    return lines
