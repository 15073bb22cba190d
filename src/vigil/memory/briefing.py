"""The briefing: what happened since last time, what is still red, what is pending, what is next.

Rules write it, from the stores alone (no model: the ``brief`` reasoning step is rules-only until
a bench shows a model's rewording earns its cost). :func:`build` returns the contract's JSON
(``since``, ``failures``, ``fixes_learned``, ``ci``, ``alerts``, ``pending``, ``predictions``)
plus ``still_red``, ``restarts``, ``empty`` and ``lines`` (the text, most important first);
:func:`short` is the few lines the first command after an idle gap prints.

Reads are bounded: each kind of event is read newest first up to :data:`MAX_ITEMS`, and run
outputs are never loaded (the ``runs`` projection and a few JSON fields are enough).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from vigil.clock import isoformat
from vigil.storage import Database

MAX_ITEMS = 20
STEP = "brief"  # the reasoning step name a model would need to be enabled for (none is)
CI_TYPES = ("ci.run.failed", "ci.run.passed")
ALERT_TYPES = ("alert.fired", "alert.resolved", "log.anomaly.detected", "probe.failed")
RESTART_TYPES = ("component.process.restarted", "component.process.isolated")
PROPOSAL_OPEN = "action.proposed"
PROPOSAL_CLOSED = (
    "action.approved",
    "action.denied",
    "action.expired",
    "action.executed",
    "action.failed",
)


Window = tuple[str | None, str | None]  # ISO times: from (inclusive), until (exclusive)


def _events(
    db: Database, types: Sequence[str], window: Window, fields: Sequence[str]
) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(types))
    picked = ", ".join(f"json_extract(data, '$.{f}') AS {f}" for f in fields)
    since, until = window
    rows = db.query(
        f"SELECT id, type, time, subject, causation_id{', ' + picked if picked else ''}"
        f" FROM events WHERE type IN ({marks}) AND (? IS NULL OR time >= ?)"
        " AND (? IS NULL OR time < ?) ORDER BY seq DESC LIMIT ?",
        (*types, since, since, until, until, MAX_ITEMS),
    )
    return [{k: v for k, v in dict(row).items() if v is not None} for row in rows]


def _failures(db: Database, window: Window) -> list[dict[str, Any]]:
    """Failed runs in the window, one item per command: how often, when last, its summary."""
    since, until = window
    rows = db.query(
        "SELECT r.subject, r.cwd, count(*) AS n, max(r.time) AS last, max(r.seq) AS seq"
        " FROM runs r WHERE r.status = 'failed' AND (? IS NULL OR r.time >= ?)"
        " AND (? IS NULL OR r.time < ?) GROUP BY r.subject, r.cwd ORDER BY seq DESC LIMIT ?",
        (since, since, until, until, MAX_ITEMS),
    )
    items: list[dict[str, Any]] = []
    for row in rows:
        event = db.query_one("SELECT event_id FROM runs WHERE seq = ?", (row["seq"],))
        summary = None
        if event is not None:
            triage = db.query_one(
                "SELECT json_extract(data, '$.summary') AS summary, fingerprint FROM events"
                " WHERE causation_id = ? AND type = 'triage.completed' LIMIT 1",
                (event["event_id"],),
            )
            if triage is not None:
                summary = triage["summary"]
        items.append(
            {
                "command": row["subject"],
                "cwd": row["cwd"],
                "count": int(row["n"]),
                "last": row["last"],
                "event_id": event["event_id"] if event is not None else None,
                "summary": summary,
            }
        )
    return items


def _still_red(db: Database) -> list[dict[str, Any]]:
    """Commands whose latest run failed (over the last 5,000 runs)."""
    rows = db.query(
        "SELECT subject, cwd, status, time, event_id FROM runs WHERE seq IN (SELECT max(seq)"
        " FROM (SELECT seq, subject, cwd FROM runs ORDER BY seq DESC LIMIT 5000)"
        " GROUP BY subject, cwd) AND status = 'failed' ORDER BY seq DESC LIMIT ?",
        (MAX_ITEMS,),
    )
    return [
        {"command": r["subject"], "cwd": r["cwd"], "since": r["time"], "event_id": r["event_id"]}
        for r in rows
    ]


def _pending(db: Database, now: str) -> list[dict[str, Any]]:
    """Open proposals (proposed, with no later decision naming them, not yet expired) and
    candidate entries (learned fixes, MCP notes) waiting for a person."""
    closed = ",".join("?" * len(PROPOSAL_CLOSED))
    rows = db.query(
        "SELECT p.id, p.time, p.subject, json_extract(p.data, '$.expires_at') AS expires,"
        " json_extract(p.data, '$.action') AS action FROM events p WHERE p.type = ?"
        f" AND NOT EXISTS (SELECT 1 FROM events d WHERE d.type IN ({closed}) AND d.seq > p.seq"
        " AND (d.causation_id = p.id OR d.subject = p.id"
        " OR json_extract(d.data, '$.proposal_id') = p.id"
        " OR json_extract(d.data, '$.proposal_id') = json_extract(p.data, '$.proposal_id')))"
        " ORDER BY p.seq DESC LIMIT ?",
        (PROPOSAL_OPEN, *PROPOSAL_CLOSED, MAX_ITEMS),
    )
    items: list[dict[str, Any]] = [
        {"kind": "proposal", "id": r["id"], "what": r["action"] or r["subject"], "since": r["time"]}
        for r in rows
        if not r["expires"] or str(r["expires"]) > now
    ]
    candidates = db.query(
        "SELECT id, title, confidence, updated FROM kb_entries WHERE status = 'candidate'"
        " ORDER BY updated DESC LIMIT ?",
        (MAX_ITEMS,),
    )
    items += [
        {
            "kind": "candidate",
            "id": r["id"],
            "what": r["title"],
            "confidence": r["confidence"],
            "since": r["updated"],
        }
        for r in candidates
    ]
    return items


def _has_table(db: Database, name: str) -> bool:
    row = db.query_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row is not None


def build(
    db: Database,
    now: datetime,
    since: datetime | None,
    predictions: Sequence[Mapping[str, Any]] = (),
    prediction_note: str | None = None,
    *,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The briefing as JSON-ready data (see the module docstring): events from ``since``
    (``None``: the beginning) until ``until`` (``None``: now); what is still red and pending
    is as of now."""
    start = isoformat(since) if since is not None else None
    window = (start, isoformat(until) if until is not None else None)
    has_runs = _has_table(db, "runs")
    failures = _failures(db, window) if has_runs else []
    still_red = _still_red(db) if has_runs else []
    learned = _events(
        db, ("knowledge.fix.learned",), window, ("entry_id", "title", "confidence", "seen")
    )
    ci = _events(db, CI_TYPES, window, ("repository", "branch", "workflow", "conclusion", "url"))
    alerts = _events(db, ALERT_TYPES, window, ("alertname", "name", "kind", "path", "error"))
    restarts = _events(db, RESTART_TYPES, window, ("component", "name", "reason", "restarts"))
    pending = _pending(db, isoformat(now)) if _has_table(db, "kb_entries") else []
    total = db.query_one("SELECT count(*) FROM events")
    empty = (total is None or int(total[0]) == 0) and not pending
    brief: dict[str, Any] = {
        "since": start,
        "now": isoformat(now),
        "empty": empty,
        "failures": failures,
        "still_red": still_red,
        "fixes_learned": learned,
        "ci": ci,
        "alerts": alerts,
        "restarts": restarts,
        "pending": pending,
        "predictions": list(predictions),
        "prediction_note": prediction_note,
        "written_by": "rules",
    }
    brief["lines"] = lines(brief)
    return brief


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def lines(brief: Mapping[str, Any]) -> list[str]:
    """The briefing as text, one fact a line, most important first."""
    if brief.get("empty"):
        return ["Nothing recorded yet: run a build or tests through `vigil run -- CMD` to start."]
    out: list[str] = []
    since = brief.get("since")
    out.append(f"Since {since}:" if since else "Everything recorded so far:")
    for item in brief.get("still_red") or []:
        out.append(f"  still red: {item['command']} (failing since {item['since']})")
    failures = brief.get("failures") or []
    for item in failures[:5]:
        summary = f": {item['summary']}" if item.get("summary") else ""
        out.append(f"  failed {item['count']}x: {item['command']}{summary}")
    for item in (brief.get("fixes_learned") or [])[:5]:
        out.append(f"  learned a fix: {item.get('title')} ({item.get('entry_id')})")
    ci = brief.get("ci") or []
    failed_ci = [c for c in ci if c["type"] == "ci.run.failed"]
    if ci:
        out.append(f"  CI: {_plural(len(ci), 'run')}, {len(failed_ci)} failed")
    for item in failed_ci[:3]:
        where = "/".join(str(item.get(k)) for k in ("repository", "branch") if item.get(k))
        out.append(f"    failed: {item.get('workflow') or 'workflow'} {where}".rstrip())
    alerts = brief.get("alerts") or []
    if alerts:
        out.append(f"  alerts: {_plural(len(alerts), 'alert')} ({alerts[0]['type']} latest)")
    restarts = brief.get("restarts") or []
    if restarts:
        out.append(f"  components restarted: {len(restarts)}x")
    pending = brief.get("pending") or []
    proposals = [p for p in pending if p["kind"] == "proposal"]
    candidates = [p for p in pending if p["kind"] == "candidate"]
    if proposals:
        out.append(f"  pending: {_plural(len(proposals), 'proposal')} to approve or deny")
    if candidates:
        out.append(
            f"  pending: {_plural(len(candidates), 'candidate entry')} to confirm"
            " (vigil kb list --status candidate)"
        )
    for item in (brief.get("predictions") or [])[:3]:
        out.append(f"  likely next: {item['text']} (hit rate {item['hit_rate']:.0%})")
    if not brief.get("predictions") and brief.get("prediction_note"):
        out.append(f"  predictions: {brief['prediction_note']}")
    if len(out) == 1:
        out.append("  nothing new: no failures, fixes, CI runs or alerts")
    return out


def short(brief: Mapping[str, Any], width: int = 4) -> list[str]:
    """The few lines printed by the first command of a session."""
    text = list(brief.get("lines") or lines(brief))
    head = ["── vigil ── welcome back. " + text[0]]
    rest = text[1:]
    shown = rest[:width]
    if len(rest) > width:
        shown.append(f"  … {len(rest) - width} more: vigil brief")
    return head + shown


def dumps(brief: Mapping[str, Any]) -> str:
    return json.dumps(brief, ensure_ascii=False, indent=2)
