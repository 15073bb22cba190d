"""``vigil attention replay FILE``: a recorded stream through the same gates, on the event clock.

The stream is what ``vigil events --json`` prints (a JSON array) or what ``vigil ingest`` reads
(JSON lines); every event needs a ``time`` (an event without one takes the previous event's).
It runs in a scratch store (a temporary home, deleted afterwards), with ``[attention]`` from the
config (or ``--config F``) but ``clock = "events"``: each event is stored at its own time, then
triaged when it is a failure that the stream does not triage itself, then handed to the raiser
and to the notifier, in order, so every request is decided at the time its cause happened and
every deferral is released at its own due time. Decisions recorded in the stream are dropped,
and so are requests the raiser made from an event the stream holds: they are made again, by
today's rules.

The report: the interruptions in order (when, where, why), what did not interrupt and why
(gate and reason), the totals, the digest. Channels are not called: the replay says what would
have happened, with every configured channel assumed to work.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from vigil.clock import isoformat, parse_iso
from vigil.config import Settings
from vigil.config.attention import AttentionSettings
from vigil.errors import UsageError, ValidationError, VigilError
from vigil.events import catalog
from vigil.events.model import Event, check_type
from vigil.storage.ids import new_ulid

KEYS = frozenset(
    {"id", "seq", "type", "time", "source", "subject", "data", "fingerprint"}
    | {"causation_id", "correlation_id"}
)
DROPPED = frozenset({*catalog.NOTIFICATION_DECISIONS, catalog.NOTIFICATION_FAILED})
RAISER_SOURCE = "vigil.raiser"


class _StepClock:
    """The replay's clock: the time of the event being handled (triage stamps with it)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment
        self._mono = 0.0

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        self._mono += 1e-6
        return self._mono

    async def sleep(self, seconds: float) -> None:
        self._mono += seconds


def parse_stream(text: str, name: str) -> list[Event]:
    """Events from a JSON array or JSON lines; the first bad record rejects the stream."""
    stripped = text.lstrip()
    records: list[tuple[str, Any]] = []
    if stripped.startswith("["):
        try:
            array = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{name}: malformed JSON ({exc.msg})") from None
        records = [(f"{name}: item {i}", r) for i, r in enumerate(array, start=1)]
    else:
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                records.append((f"{name}: line {number}", json.loads(raw)))
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    f"{name}: line {number}: malformed JSON ({exc.msg})"
                ) from None
    events: list[Event] = []
    last: str | None = None
    for where, record in records:
        if not isinstance(record, dict):
            raise ValidationError(f"{where}: expected a JSON object")
        unknown = sorted(set(record) - KEYS)
        if unknown:
            raise ValidationError(f"{where}: unknown field {unknown[0]!r}")
        data = record.get("data", {})
        if not isinstance(data, dict):
            raise ValidationError(f"{where}: 'data' must be a JSON object")
        try:
            kind = check_type(record.get("type"))
            stamp = record.get("time") or last
            if stamp is None:
                raise ValidationError("no time: a replay runs on the events' own times")
            if not isinstance(stamp, str):
                raise ValidationError("'time' must be an ISO 8601 string")
            moment = parse_iso(stamp)
        except VigilError as exc:
            raise ValidationError(f"{where}: {exc}") from None
        last = isoformat(moment)
        for key in ("id", "source", "subject", "fingerprint", "causation_id", "correlation_id"):
            if record.get(key) is not None and not isinstance(record[key], str):
                raise ValidationError(f"{where}: {key!r} must be a string")
        events.append(
            Event(
                type=kind,
                data=data,
                id=record.get("id") or "ev_" + new_ulid(int(moment.timestamp() * 1000)),
                time=last,
                source=record.get("source") or "vigil.ingest",
                subject=record.get("subject"),
                fingerprint=record.get("fingerprint"),
                correlation_id=record.get("correlation_id"),
                causation_id=record.get("causation_id"),
            )
        )
    if not events:
        raise ValidationError(f"{name}: no events to replay")
    return events


@dataclass(slots=True)
class ReplayReport:
    """What the gates would have done with a recorded stream."""

    events: int
    interruptions: list[dict[str, Any]] = field(default_factory=list)
    quiet: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    digest: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    resolutions: list[tuple[str, str]] = field(default_factory=list)  # (time, fingerprint)

    def to_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals,
            "interruptions": self.interruptions,
            "quiet": self.quiet,
            "digest": self.digest,
            "elapsed_s": self.elapsed_s,
        }


def _interruptions(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for entry in entries:
        for decision in entry["decisions"]:
            if decision["type"] == catalog.NOTIFICATION_DELIVERED and decision.get("interrupts"):
                waited = parse_iso(decision["time"]) - parse_iso(entry["time"])
                found.append(
                    {
                        "time": decision["time"],
                        "request_id": entry["id"],
                        "raised": entry["time"],
                        "after_s": round(waited.total_seconds(), 3),
                        "title": entry["title"],
                        "severity": entry["severity"],
                        "channel": decision.get("channel"),
                        "channels": decision.get("channels"),
                        "gate": decision["gate"],
                        "reason": decision["reason"],
                    }
                )
    found.sort(key=lambda item: (item["time"], item["request_id"]))
    return found


def _quiet(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rest = []
    for entry in entries:
        if any(d.get("interrupts") for d in entry["decisions"]):
            continue
        decision = entry["decision"] or {}
        rest.append(
            {
                "time": entry["time"],
                "request_id": entry["id"],
                "title": entry["title"],
                "severity": entry["severity"],
                "fingerprint": entry["fingerprint"],
                "outcome": entry["status"],
                "gate": decision.get("gate"),
                "reason": decision.get("reason"),
            }
        )
    return rest


def replay(
    events: Sequence[Event], settings: Settings, attention: AttentionSettings | None = None
) -> ReplayReport:
    """Run ``events`` through triage, the raiser and the notifier in a scratch store."""
    from vigil.app import Vigil
    from vigil.app.attention import policy_for
    from vigil.events.bus import run_handler
    from vigil.handlers.raiser import RAISES_FOR, Raiser
    from vigil.notify.engine import Notifier
    from vigil.notify.inbox import digest, inbox
    from vigil.notify.topics import OBSERVED

    started = time.perf_counter()
    rules = replace(attention or settings.attention, clock="events")
    ids = {e.id for e in events}
    kept = [
        e
        for e in events
        if e.type not in DROPPED
        and not (  # raised again from its cause; kept when the stream lacks the cause
            e.source == RAISER_SOURCE
            and e.type.startswith(("notification.", "attention."))
            and e.causation_id in ids
        )
    ]
    triaged = {e.causation_id for e in kept if e.type == catalog.TRIAGE_COMPLETED}
    resolutions: list[tuple[str, str]] = []
    raised_for = frozenset(RAISES_FOR) | {catalog.COMPONENT_ISOLATED}
    observed = frozenset(OBSERVED)
    with tempfile.TemporaryDirectory(prefix="vigil-replay-") as scratch:
        scratch_settings = settings.replace(home=Path(scratch), attention_rules=rules)
        clock = _StepClock(parse_iso(kept[0].time) if kept else parse_iso(events[0].time))
        vigil = Vigil(scratch_settings, clock=clock)
        try:
            vigil.ensure_schema()
            notifier = Notifier(policy_for(scratch_settings), clock="events")
            raiser = Raiser(vigil.log)
            for event in kept:
                moment = parse_iso(event.time)
                if moment > clock.moment:
                    clock.moment = moment
                try:
                    queue = vigil.log.append([event])
                except VigilError as exc:
                    raise UsageError(f"cannot replay event {event.id}: {exc}") from None
                while queue:
                    current = queue.pop(0)
                    if current.type == catalog.BUILD_RUN_FAILED and current.id not in triaged:
                        queue += (
                            run_handler(vigil.log, "triage", vigil.triage.handle, current) or []
                        )
                    if current.type in raised_for:
                        queue += run_handler(vigil.log, "raiser", raiser.handle, current) or []
                    if current.type == catalog.ATTENTION_CONDITION_RESOLVED:
                        resolutions.append((current.time, str(current.data.get("fingerprint"))))
                    if current.type in observed:
                        decisions = notifier.handle(current, clock.moment)
                        if decisions:
                            vigil.log.append(decisions)
            entries = inbox(vigil.log, limit=None)
        finally:
            vigil.close()
    report = ReplayReport(events=len(events), entries=entries, resolutions=resolutions)
    report.interruptions = _interruptions(entries)
    report.quiet = _quiet(entries)
    report.digest = [line.to_dict() for line in digest(entries)]
    status = Counter(e["status"] for e in entries)
    by_gate = Counter(
        (q["outcome"], q["gate"]) for q in report.quiet if q["outcome"] != "delivered"
    )
    released = sum(
        1
        for e in entries
        if e["status"] == "delivered"
        and any(d["type"].endswith("deferred") for d in e["decisions"])
    )
    report.totals = {
        "events": len(events),
        "replayed": len(kept),
        "requests": len(entries),
        "interruptions": len(report.interruptions),
        "delivered": status["delivered"],
        "delivered_quietly": sum(1 for q in report.quiet if q["outcome"] == "delivered"),
        "released_after_deferral": released,
        "suppressed": status["suppressed"],
        "still_deferred": status["deferred"],
        "rejected": status["rejected"],
        "undecided": status["pending"],
        "by_gate": {f"{outcome}/{gate}": n for (outcome, gate), n in sorted(by_gate.items())},
        "digest_lines": len(report.digest),
    }
    report.elapsed_s = round(time.perf_counter() - started, 3)
    return report
