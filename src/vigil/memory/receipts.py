"""Receipts: what every triage, answer and enrichment was based on, and what came of it.

A receipt names its ``kind`` (triage, answer, enrichment), its ``subject`` (the event it is
about, e.g. the failure), who answered (``provider``, ``model``; ``deterministic`` for triage),
latency, tokens and cost, the inputs it used (event and knowledge ids), every tool call with its
arguments and a preview of its result, the providers skipped and why, and the outcome. Text is
redacted before it is stored, like everything Vigil writes. ``vigil why ID`` reads them.

It lives in ``memory`` rather than ``guard`` (where the house layout puts receipts) because
handlers, the reasoning layer's callers and the guard all write receipts, and those layers may
not import each other; memory sits below all of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.clock import Clock, isoformat
from vigil.errors import NotFoundError
from vigil.storage import Database, apply_migrations, new_id, sql
from vigil.storage.redact import Redactor

MIGRATIONS = [
    sql(
        """CREATE TABLE receipts (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            subject TEXT,
            created TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            elapsed_ms REAL NOT NULL,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            cost REAL NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            inputs TEXT NOT NULL DEFAULT '{}',
            tool_calls TEXT NOT NULL DEFAULT '[]',
            skipped TEXT NOT NULL DEFAULT '[]',
            outcome TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX receipts_subject ON receipts (subject, created)",
        "CREATE INDEX receipts_kind ON receipts (kind, created)",
    )
]

PREVIEW_CHARS = 600


@dataclass(frozen=True, slots=True)
class Receipt:
    id: str
    kind: str
    subject: str | None
    created: str
    provider: str
    model: str
    elapsed_ms: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    status: str = "ok"
    inputs: Mapping[str, Any] = field(default_factory=dict)
    tool_calls: Sequence[Mapping[str, Any]] = ()
    skipped: Sequence[Mapping[str, Any]] = ()
    outcome: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "created": self.created,
            "provider": self.provider,
            "model": self.model,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "cost": self.cost,
            "status": self.status,
            "inputs": dict(self.inputs),
            "tool_calls": [dict(c) for c in self.tool_calls],
            "skipped": [dict(s) for s in self.skipped],
            "outcome": dict(self.outcome),
        }


_COLUMNS = (
    "id, kind, subject, created, provider, model, elapsed_ms, prompt_tokens, completion_tokens,"
    " cost, status, inputs, tool_calls, skipped, outcome"
)


def _from_row(row: Any) -> Receipt:
    return Receipt(
        id=row[0],
        kind=row[1],
        subject=row[2],
        created=row[3],
        provider=row[4],
        model=row[5],
        elapsed_ms=row[6],
        prompt_tokens=row[7],
        completion_tokens=row[8],
        cost=row[9],
        status=row[10],
        inputs=json.loads(row[11]),
        tool_calls=json.loads(row[12]),
        skipped=json.loads(row[13]),
        outcome=json.loads(row[14]),
    )


def _preview(value: Any) -> Any:
    if isinstance(value, str) and len(value) > PREVIEW_CHARS:
        return value[:PREVIEW_CHARS] + " [...]"
    return value


class ReceiptStore:
    """Receipts in the state database."""

    def __init__(self, db: Database, clock: Clock, redactor: Redactor | None = None) -> None:
        self.db = db
        self.clock = clock
        self.redactor = redactor or Redactor.from_environment()
        apply_migrations(db, "receipts", MIGRATIONS)

    def record(
        self,
        *,
        kind: str,
        subject: str | None,
        provider: str,
        model: str,
        elapsed_ms: float,
        status: str = "ok",
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: float = 0.0,
        inputs: Mapping[str, Any] | None = None,
        tool_calls: Sequence[Mapping[str, Any]] = (),
        skipped: Sequence[Mapping[str, Any]] = (),
        outcome: Mapping[str, Any] | None = None,
        receipt_id: str | None = None,
    ) -> Receipt:
        """Store a receipt (redacted; tool results cut to a preview) and return it.

        ``receipt_id``: an id chosen beforehand (a proposal names its receipt in its own row)."""
        calls = [{k: _preview(v) for k, v in call.items()} for call in tool_calls]
        receipt = Receipt(
            id=receipt_id or new_id("rc"),
            kind=kind,
            subject=subject,
            created=isoformat(self.clock.now()),
            provider=provider,
            model=model,
            elapsed_ms=elapsed_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            status=status,
            inputs=self.redactor.redact_obj(dict(inputs or {})),
            tool_calls=self.redactor.redact_obj(calls),
            skipped=self.redactor.redact_obj([dict(s) for s in skipped]),
            outcome=self.redactor.redact_obj(dict(outcome or {})),
        )
        with self.db.transaction() as conn:
            conn.execute(
                f"INSERT INTO receipts ({_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                (
                    receipt.id,
                    receipt.kind,
                    receipt.subject,
                    receipt.created,
                    receipt.provider,
                    receipt.model,
                    receipt.elapsed_ms,
                    receipt.prompt_tokens,
                    receipt.completion_tokens,
                    receipt.cost,
                    receipt.status,
                    json.dumps(receipt.inputs, default=str),
                    json.dumps(list(receipt.tool_calls), default=str),
                    json.dumps(list(receipt.skipped), default=str),
                    json.dumps(receipt.outcome, default=str),
                ),
            )
        return receipt

    def get(self, receipt_id: str) -> Receipt:
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM receipts WHERE id = ?", (receipt_id,))
        if row is None and len(receipt_id) >= 6:
            rows = self.db.query(
                f"SELECT {_COLUMNS} FROM receipts WHERE id >= ? AND id < ? LIMIT 2",
                (receipt_id, receipt_id + "\U0010ffff"),
            )
            row = rows[0] if len(rows) == 1 else None
        if row is None:
            raise NotFoundError(f"no receipt with id {receipt_id!r}")
        return _from_row(row)

    def for_subject(self, subject: str) -> list[Receipt]:
        """Every receipt about ``subject`` (an event id), oldest first."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM receipts WHERE subject = ? ORDER BY created, id", (subject,)
        )
        return [_from_row(r) for r in rows]

    def recent(self, kind: str | None = None, limit: int = 20) -> list[Receipt]:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM receipts WHERE (? IS NULL OR kind = ?)"
            " ORDER BY created DESC, id DESC LIMIT ?",
            (kind, kind, limit),
        )
        return [_from_row(r) for r in rows]
