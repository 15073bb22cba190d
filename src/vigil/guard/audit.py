"""The approval audit: every execution a database records must follow a person's approval.

Independent of the executor's own checks: it reads what was stored. An execution (a proposal
with ``started_at``) counts as approved only when an ``action.approved`` event for it exists,
stored no later than the execution started, from a person (``via`` cli, api, dashboard, voice)
or a person's config (``via`` config), and never by a model. The test suite runs it over every
database it made, and ``make bench`` over its own: both report the count, which must be 0.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

VIAS = ("cli", "api", "dashboard", "voice", "config")


def audit(db_path: Path) -> dict[str, Any]:
    """``{"executions": N, "without_approval": M, "ids": [...]}`` for one state database."""
    found: dict[str, Any] = {"executions": 0, "without_approval": 0, "ids": []}
    try:
        conn = sqlite3.connect(f"{db_path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return found
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"proposals", "events"} <= tables:
            return found
        rows = conn.execute(
            "SELECT id, started_at FROM proposals WHERE started_at IS NOT NULL"
        ).fetchall()
        for proposal_id, started_at in rows:
            found["executions"] += 1
            approvals = conn.execute(
                "SELECT data, time FROM events WHERE type = 'action.approved' AND subject = ?",
                (proposal_id,),
            ).fetchall()
            if not any(_valid(json.loads(data), time, started_at) for data, time in approvals):
                found["without_approval"] += 1
                found["ids"].append(proposal_id)
    except sqlite3.Error:
        return found
    finally:
        conn.close()
    return found


def _valid(data: dict[str, Any], time: str, started_at: str) -> bool:
    by = str(data.get("by") or "")
    return (
        data.get("via") in VIAS and bool(by) and not by.lower().startswith("model")
    ) and time <= started_at
