"""Prometheus Alertmanager webhooks (payload version 4) -> ``alert.fired`` / ``alert.resolved``.

One event per alert in the payload, with data ``alertname``, ``labels``, ``annotations``,
``fingerprint``, ``starts_at``, ``ends_at``, ``generator_url``, ``receiver``, ``group_key``.
Alertmanager repeats a firing alert every ``repeat_interval`` (and a resolved one when
``send_resolved`` repeats): Vigil stores the first ``alert.fired`` per fingerprint and nothing
more while it keeps firing, then one ``alert.resolved``, then a new ``alert.fired`` if it fires
again. The state lives in ``alert_state`` and is decided inside the write transaction (an intake
claim), so concurrent deliveries and restarts never double an alert.

Table (namespace ``alerts``)::

    alert_state  fingerprint | status (firing|resolved) | alertname | starts_at | updated
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from vigil.clock import Clock, isoformat
from vigil.errors import ValidationError
from vigil.events import catalog
from vigil.events.intake import Claim
from vigil.events.model import Event, new_event
from vigil.storage import Database, apply_migrations, sql

SOURCE = "alertmanager"
MIGRATIONS = [
    sql(
        """CREATE TABLE alert_state (
            fingerprint TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            alertname TEXT NOT NULL,
            starts_at TEXT,
            updated TEXT NOT NULL
        ) WITHOUT ROWID"""
    )
]
MAX_ALERTS = 1000


def _strings(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(f"{where} must be an object of strings")
    return dict(value)


def _fingerprint(labels: Mapping[str, str]) -> str:
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def map_payload(payload: object, *, clock: Clock) -> list[Event]:
    """One event per alert; raises :class:`ValidationError` for anything but a v4 payload."""
    if not isinstance(payload, Mapping):
        raise ValidationError("the payload must be a JSON object")
    if str(payload.get("version")) != "4":
        raise ValidationError(
            f"unsupported Alertmanager payload version {payload.get('version')!r} (expected 4)"
        )
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise ValidationError("missing array 'alerts'")
    if len(alerts) > MAX_ALERTS:
        raise ValidationError(f"too many alerts in one payload ({len(alerts)} > {MAX_ALERTS})")
    receiver = payload.get("receiver") if isinstance(payload.get("receiver"), str) else None
    group_key = payload.get("groupKey") if isinstance(payload.get("groupKey"), str) else None
    events: list[Event] = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(alert, Mapping):
            raise ValidationError(f"{where} must be an object")
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise ValidationError(f"{where}.status must be 'firing' or 'resolved'")
        labels = _strings(alert.get("labels"), f"{where}.labels")
        annotations = _strings(alert.get("annotations"), f"{where}.annotations")
        fingerprint = alert.get("fingerprint")
        if fingerprint is not None and (not isinstance(fingerprint, str) or not fingerprint):
            raise ValidationError(f"{where}.fingerprint must be a non-empty string")
        fingerprint = fingerprint or _fingerprint(labels)
        alertname = labels.get("alertname", "")
        data: dict[str, Any] = {
            "alertname": alertname,
            "status": status,
            "labels": labels,
            "annotations": annotations,
            "fingerprint": fingerprint,
            "starts_at": alert.get("startsAt"),
            "ends_at": alert.get("endsAt"),
            "generator_url": alert.get("generatorURL"),
            "receiver": receiver,
            "group_key": group_key,
        }
        kind = catalog.ALERT_FIRED if status == "firing" else catalog.ALERT_RESOLVED
        events.append(
            new_event(
                kind,
                data,
                clock=clock,
                source=SOURCE,
                subject=alertname or fingerprint,
                fingerprint=f"alert:{fingerprint}",
            )
        )
    return events


class AlertStates:
    """Per-fingerprint firing state; :meth:`claim` keeps only the alerts that change it."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        apply_migrations(db, "alerts", MIGRATIONS)

    def claim(self) -> Claim:
        now = isoformat(self.clock.now())

        def decide(conn: sqlite3.Connection, events: Sequence[Event]) -> Sequence[Event]:
            keep = []
            for event in events:
                data = event.data
                row = conn.execute(
                    "SELECT status FROM alert_state WHERE fingerprint = ?", (data["fingerprint"],)
                ).fetchone()
                if row is not None and row[0] == data["status"]:
                    continue  # still firing (or resolved again): said already
                conn.execute(
                    "INSERT OR REPLACE INTO alert_state"
                    " (fingerprint, status, alertname, starts_at, updated) VALUES (?, ?, ?, ?, ?)",
                    (
                        data["fingerprint"],
                        data["status"],
                        data["alertname"],
                        data["starts_at"],
                        now,
                    ),
                )
                keep.append(event)
            return keep

        return decide

    def firing(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT fingerprint, alertname, starts_at, updated FROM alert_state"
            " WHERE status = 'firing' ORDER BY updated"
        )
        return [
            {"fingerprint": r[0], "alertname": r[1], "starts_at": r[2], "since": r[3]} for r in rows
        ]
