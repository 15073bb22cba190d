"""The chain behind a proposal: failure -> triage -> model answer -> proposal -> decision ->
execution, each step from its stored event or receipt (``vigil why pr_...``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vigil.errors import NotFoundError, UsageError
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event
from vigil.guard.proposals import Proposal, ProposalStore
from vigil.memory.receipts import ReceiptStore

FAILURES = (
    "build.run.failed",
    "ci.run.failed",
    "probe.failed",
    "log.anomaly.detected",
    "alert.fired",
)


def proposal_behind(
    identifier: str, store: ProposalStore, log: SqliteEventLog, receipts: ReceiptStore
) -> Proposal | None:
    """The proposal an id is about (a proposal, an ``action.*`` event, a proposal's or an
    execution's receipt), or ``None`` when the id is about something else."""
    if identifier.startswith("pr_"):
        return store.get(identifier)
    try:
        if identifier.startswith("rc_"):
            receipt = receipts.get(identifier)
            if receipt.kind in ("proposal", "execution") and receipt.subject:
                return store.get(receipt.subject)
            return None
        event = log.get(identifier)
    except (NotFoundError, UsageError):
        return None
    if event.type.startswith("action.") and (event.subject or "").startswith("pr_"):
        return store.get(str(event.subject))
    return None


def _event_step(step: str, event: Event, summary: str) -> dict[str, Any]:
    return {"step": step, "id": event.id, "type": event.type, "time": event.time,
            "summary": summary}  # fmt: skip


def _failure_summary(event: Event) -> str:
    data = event.data
    what = event.subject or data.get("command") or data.get("workflow") or data.get("name") or ""
    code = f", exit {data['exit_code']}" if "exit_code" in data else ""
    return f"{event.type} `{what}`{code}".strip()


def walk(proposal: Proposal, log: SqliteEventLog, receipts: ReceiptStore) -> list[dict[str, Any]]:
    """Every step that led to ``proposal`` and came of it, oldest first."""
    steps: list[dict[str, Any]] = []  # the failures and their triage first
    others: list[dict[str, Any]] = []  # then the rest of the evidence and the request
    seen: set[str] = set()
    evidence = list(proposal.evidence.get("events") or [])
    for event_id in evidence:
        try:
            event = log.get(event_id)
        except (NotFoundError, UsageError):
            others.append({"step": "evidence", "id": event_id, "summary": "(not found)"})
            continue
        failure: Event | None = None
        if event.type in FAILURES:
            failure = event
        elif event.type.startswith("triage.") and event.causation_id:
            try:
                failure = log.get(event.causation_id)
            except (NotFoundError, UsageError):
                failure = None
        if failure is not None and failure.id not in seen:
            seen.add(failure.id)
            steps.append(_event_step("failure", failure, _failure_summary(failure)))
            for triage in log.find(
                patterns=("triage.completed",), causation_id=failure.id, newest_first=False
            ):
                if triage.id not in seen:
                    seen.add(triage.id)
                    summary = str(triage.data.get("summary") or "")
                    steps.append(_event_step("triage", triage, summary))
        if event.id not in seen:
            seen.add(event.id)
            kind = "request" if event.type == "action.requested" else "evidence"
            others.append(_event_step(kind, event, f"{event.type} {event.subject or ''}".strip()))
    steps += others
    answer = _answer_receipt(proposal, receipts)
    if answer is not None:
        outcome = answer.outcome
        steps.append(
            {
                "step": "answer",
                "id": answer.id,
                "time": answer.created,
                "provider": answer.provider,
                "model": answer.model,
                "summary": f"question: {outcome.get('question', '')!s:.200} -> answer:"
                f" {' '.join(str(outcome.get('answer', '')).split())[:200]}",
            }
        )
    policy = proposal.policy
    steps.append(
        {
            "step": "proposal",
            "id": proposal.id,
            "time": proposal.created,
            "event": proposal.event_id,
            "receipt": proposal.receipt_id,
            "summary": f"{proposal.effect} ({proposal.risk} risk), by {proposal.proposer}"
            + (f"; why: {proposal.why}" if proposal.why else ""),
            "policy": dict(policy),
            "flags": [dict(f) for f in proposal.flags],
        }
    )
    for event in log.find(subject=proposal.id, patterns=("action.*",), newest_first=False,
                          limit=50):  # fmt: skip
        if event.type == "action.proposed":
            continue
        steps.append(_decision_step(event))
    execution = [r for r in receipts.for_subject(proposal.id) if r.kind == "execution"]
    for receipt in execution:
        steps.append(
            {"step": "receipt", "id": receipt.id, "time": receipt.created,
             "summary": f"execution receipt: {receipt.status}, {receipt.elapsed_ms:.0f} ms"}
        )  # fmt: skip
    return steps


def _decision_step(event: Event) -> dict[str, Any]:
    data: Mapping[str, Any] = event.data
    kind = event.type.split(".", 1)[1]
    if kind in ("approved", "denied"):
        who = f"by {data.get('by')} via {data.get('via')}"
        detail = data.get("why") or "; ".join(data.get("reasons") or [])
        stage = f" at {data['stage']}" if data.get("stage") in ("proposal", "execution") else ""
        summary = f"{kind} {who}{stage}" + (f": {detail}" if detail else "")
    elif kind == "expired":
        summary = f"expired at {data.get('expired_at')} (nobody answered: counts as denied)"
    elif kind in ("executed", "failed"):
        summary = f"{kind}: {data.get('reason') or ''}".strip()
        if data.get("limit"):
            summary += f" [limit: {data['limit']}]"
    else:
        summary = event.type
    step = _event_step(kind if kind != "executed" else "executed", event, summary)
    if kind in ("executed", "failed"):
        step["output_tail"] = str(data.get("output_tail") or "")[-2000:]
        step["exit_code"] = data.get("exit_code")
    return step


def _answer_receipt(proposal: Proposal, receipts: ReceiptStore) -> Any:
    """The model answer whose tool call made the proposal (found by the proposal id in its tool
    calls), or the one the proposal names as evidence."""
    named = proposal.evidence.get("receipt")
    if isinstance(named, str):
        try:
            return receipts.get(named)
        except NotFoundError:
            return None
    if not proposal.proposer.startswith("model"):
        return None
    row = receipts.db.query_one(
        "SELECT id FROM receipts WHERE kind = 'answer' AND tool_calls LIKE ? ORDER BY created"
        " LIMIT 1",
        (f"%{proposal.id}%",),
    )
    return receipts.get(row[0]) if row is not None else None
