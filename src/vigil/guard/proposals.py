"""The proposals table: one row per proposal, moved from state to state by atomic updates.

Table (namespace ``guard``)::

    proposals   id (pr_...) | action | args | risk | effect | why | evidence | proposer
                | created | expires_at | status | policy (the latest decision) | flags
                | decided_by | decided_via | decided_at | decision_why | decision_event
                | started_at | runner | finished_at | result | event_id | correlation_id
                | receipt_id

Statuses: ``pending`` -> ``approved`` | ``denied`` | ``expired``; ``approved`` -> ``executed`` |
``failed`` | ``denied`` (the policy refused it at execution). Every move is one ``UPDATE ...
WHERE status = <expected>``, committed in the same transaction as its ``action.*`` event, so two
processes can never both approve, expire or start the same proposal: one wins, the other is
told what happened. ``started_at`` is set when execution is claimed, before the process starts,
so a daemon that dies mid-execution finds the row started and unfinished after restart and
records it as interrupted instead of running it again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.errors import NotFoundError, UsageError
from vigil.storage import Database, apply_migrations, sql

STATUSES = ("pending", "approved", "denied", "expired", "executed", "failed")
FINAL = frozenset({"denied", "expired", "executed", "failed"})

MIGRATIONS = [
    sql(
        """CREATE TABLE proposals (
            id TEXT PRIMARY KEY,
            action TEXT NOT NULL,
            args TEXT NOT NULL,
            risk TEXT NOT NULL,
            effect TEXT NOT NULL,
            why TEXT NOT NULL DEFAULT '',
            evidence TEXT NOT NULL DEFAULT '{}',
            proposer TEXT NOT NULL,
            created TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN
                ('pending', 'approved', 'denied', 'expired', 'executed', 'failed')),
            policy TEXT NOT NULL,
            flags TEXT NOT NULL DEFAULT '[]',
            decided_by TEXT,
            decided_via TEXT,
            decided_at TEXT,
            decision_why TEXT,
            decision_event TEXT,
            started_at TEXT,
            runner TEXT,
            finished_at TEXT,
            result TEXT,
            event_id TEXT NOT NULL,
            correlation_id TEXT,
            receipt_id TEXT
        )""",
        "CREATE INDEX proposals_status ON proposals (status, expires_at)",
        "CREATE INDEX proposals_created ON proposals (created)",
        "CREATE INDEX proposals_started ON proposals (started_at) WHERE started_at IS NOT NULL",
    )
]

_COLUMNS = (
    "id", "action", "args", "risk", "effect", "why", "evidence", "proposer", "created",
    "expires_at", "status", "policy", "flags", "decided_by", "decided_via", "decided_at",
    "decision_why", "decision_event", "started_at", "runner", "finished_at", "result",
    "event_id", "correlation_id", "receipt_id",
)  # fmt: skip
_JSON = frozenset({"args", "evidence", "policy", "flags", "runner", "result"})


@dataclass(frozen=True, slots=True)
class Proposal:
    id: str
    action: str
    args: Mapping[str, Any]
    risk: str
    effect: str
    why: str
    evidence: Mapping[str, Any]
    proposer: str
    created: str
    expires_at: str
    status: str
    policy: Mapping[str, Any]
    event_id: str
    flags: Sequence[Mapping[str, Any]] = ()
    decided_by: str | None = None
    decided_via: str | None = None
    decided_at: str | None = None
    decision_why: str | None = None
    decision_event: str | None = None
    started_at: str | None = None
    runner: Mapping[str, Any] | None = None
    finished_at: str | None = None
    result: Mapping[str, Any] | None = None
    correlation_id: str | None = None
    receipt_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape (``vigil proposals --json``), and everything else known."""
        return {
            "id": self.id,
            "action": self.action,
            "args": dict(self.args),
            "status": self.status,
            "risk": self.risk,
            "why": self.why,
            "expires_at": self.expires_at,
            "policy": dict(self.policy),
            "effect": self.effect,
            "proposer": self.proposer,
            "created": self.created,
            "evidence": dict(self.evidence),
            "flags": [dict(f) for f in self.flags],
            "decided_by": self.decided_by,
            "decided_via": self.decided_via,
            "decided_at": self.decided_at,
            "decision_why": self.decision_why,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result": dict(self.result) if self.result is not None else None,
            "event_id": self.event_id,
            "receipt_id": self.receipt_id,
        }


def _from_row(row: sqlite3.Row | tuple[Any, ...]) -> Proposal:
    values: dict[str, Any] = {}
    for name, value in zip(_COLUMNS, row, strict=True):
        values[name] = json.loads(value) if name in _JSON and value is not None else value
    return Proposal(**values)


class ProposalStore:
    """Reads and atomic state changes of proposals (writes run inside the caller's transaction)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        apply_migrations(db, "guard", MIGRATIONS)

    # -- reading ---------------------------------------------------------------------------

    def get(self, proposal_id: str) -> Proposal:
        """One proposal by id (or a unique prefix of at least 6 characters)."""
        if not isinstance(proposal_id, str) or not proposal_id.strip():
            raise UsageError("a proposal id is required")
        proposal_id = proposal_id.strip()
        row = self.db.query_one(
            f"SELECT {', '.join(_COLUMNS)} FROM proposals WHERE id = ?", (proposal_id,)
        )
        if row is None and len(proposal_id) >= 6:
            rows = self.db.query(
                f"SELECT {', '.join(_COLUMNS)} FROM proposals WHERE id >= ? AND id < ? LIMIT 2",
                (proposal_id, proposal_id + "\U0010ffff"),
            )
            if len(rows) > 1:
                raise UsageError(f"proposal id prefix {proposal_id!r} is ambiguous")
            row = rows[0] if rows else None
        if row is None:
            raise NotFoundError(f"no proposal with id {proposal_id!r}")
        return _from_row(row)

    def find(self, *, include_all: bool = False, limit: int = 200) -> list[Proposal]:
        """Pending proposals (``include_all``: every one), newest first."""
        where = "1" if include_all else "status = 'pending'"
        rows = self.db.query(
            f"SELECT {', '.join(_COLUMNS)} FROM proposals WHERE {where}"
            " ORDER BY created DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [_from_row(r) for r in rows]

    def due(self, now: str) -> list[Proposal]:
        rows = self.db.query(
            f"SELECT {', '.join(_COLUMNS)} FROM proposals"
            " WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at",
            (now,),
        )
        return [_from_row(r) for r in rows]

    def next_expiry(self) -> str | None:
        row = self.db.query_one("SELECT MIN(expires_at) FROM proposals WHERE status = 'pending'")
        return str(row[0]) if row is not None and row[0] is not None else None

    def ready(self) -> list[Proposal]:
        """Approved and not yet started, oldest approval first."""
        rows = self.db.query(
            f"SELECT {', '.join(_COLUMNS)} FROM proposals"
            " WHERE status = 'approved' AND started_at IS NULL ORDER BY decided_at, id"
        )
        return [_from_row(r) for r in rows]

    def unfinished(self) -> list[Proposal]:
        """Started and never finished: a process died while it ran them."""
        rows = self.db.query(
            f"SELECT {', '.join(_COLUMNS)} FROM proposals"
            " WHERE status = 'approved' AND started_at IS NOT NULL ORDER BY started_at"
        )
        return [_from_row(r) for r in rows]

    def count_started(self, since: str, action: str | None = None) -> int:
        row = self.db.query_one(
            "SELECT COUNT(*) FROM proposals WHERE started_at >= ? AND (? IS NULL OR action = ?)",
            (since, action, action),
        )
        return int(row[0]) if row else 0

    def count_proposed(self, since: str, proposer_prefix: str) -> int:
        row = self.db.query_one(
            "SELECT COUNT(*) FROM proposals WHERE created >= ? AND proposer LIKE ?",
            (since, proposer_prefix + "%"),
        )
        return int(row[0]) if row else 0

    # -- writing (inside the caller's transaction) -------------------------------------------

    def insert(self, conn: sqlite3.Connection, proposal: Proposal) -> None:
        values = []
        for name in _COLUMNS:
            value = getattr(proposal, name)
            if name in _JSON and value is not None:
                value = json.dumps(value, default=str, ensure_ascii=False)
            values.append(value)
        marks = ", ".join("?" * len(values))
        conn.execute(f"INSERT INTO proposals ({', '.join(_COLUMNS)}) VALUES ({marks})", values)

    def move(
        self,
        conn: sqlite3.Connection,
        proposal_id: str,
        expected: Sequence[str],
        changes: Mapping[str, Any],
        *,
        unstarted: bool | None = None,
    ) -> bool:
        """Apply ``changes`` if the proposal is in one of the ``expected`` statuses (and, with
        ``unstarted``, has or has not been started); whether it did."""
        sets, values = [], []
        for name, value in changes.items():
            if name not in _COLUMNS or name == "id":
                raise ValueError(f"not a proposal column: {name}")
            sets.append(f"{name} = ?")
            if name in _JSON and value is not None:
                value = json.dumps(value, default=str, ensure_ascii=False)
            values.append(value)
        where = f"id = ? AND status IN ({', '.join('?' * len(expected))})"
        if unstarted is True:
            where += " AND started_at IS NULL"
        elif unstarted is False:
            where += " AND started_at IS NOT NULL"
        cursor = conn.execute(
            f"UPDATE proposals SET {', '.join(sets)} WHERE {where}",
            [*values, proposal_id, *expected],
        )
        return cursor.rowcount == 1


@dataclass(frozen=True, slots=True)
class Approver:
    """Who decided and from where: a person (``by``: their name or token name) via ``cli``,
    ``api``, ``dashboard`` or ``voice``; or a person's config (``via="config"``)."""

    by: str
    via: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    VIAS = ("cli", "api", "dashboard", "voice", "config")
