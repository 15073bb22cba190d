"""Control: proposals made, approved, denied, expired, started and finished, with their events.

:class:`Control` is the one place proposals change state. Every change is one transaction holding
the row's update, its ``action.*`` event(s) and, where there is one, its receipt; so whatever a
reader sees (``vigil proposals``, ``vigil events``, ``vigil why``) agrees.

The chain of events of one proposal shares a correlation id (its cause's, when it has one) and
each names the one before as its cause::

    (cause: a failure, a triage, an action.requested, a model's answer)
      -> action.proposed -> action.approved -> action.executed | action.failed
                         -> action.denied | action.expired (+ notification.requested)

Rules kept here:

- the policy judges an action when it is proposed and again right before it runs (with the rate
  limits and budgets of that moment); denied at either stage, it never runs;
- only a person approves: ``via`` is ``cli``, ``api``, ``dashboard`` or ``voice`` and ``by`` is
  never a model; the one exception is a person's own config (``auto_approve``), recorded as
  ``via="config"``, and only for allowed, low-risk, unflagged actions;
- approving twice, or approving a denied or expired proposal, changes nothing and says why;
- a pending proposal past its ``expires_at`` is expired (as denied) by whoever looks first.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from vigil.clock import Clock, isoformat
from vigil.errors import UsageError, ValidationError
from vigil.events import catalog
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.guard.action import Action, command_line, parse_action
from vigil.guard.injection import flags_for, strings_of
from vigil.guard.policy import Decision, Policy, Usage
from vigil.guard.proposals import Approver, Proposal, ProposalStore
from vigil.memory.receipts import ReceiptStore
from vigil.storage import Database, new_id
from vigil.storage.redact import Redactor

PERSON_VIAS = ("cli", "api", "dashboard", "voice")
MAX_WHY = 2000


class ProposalStateError(UsageError):
    """The proposal is not in a state that allows this (already decided, expired, running)."""


@dataclass(frozen=True, slots=True)
class Change:
    """A state change: the proposal as it now is, and the events recorded with it."""

    proposal: Proposal
    events: tuple[Event, ...]


class Control:
    """Proposals and their state changes over one database."""

    def __init__(
        self,
        db: Database,
        log: SqliteEventLog,
        receipts: ReceiptStore,
        policy: Policy,
        clock: Clock,
        *,
        source: str = "vigil.cli",
        on_stored: Callable[[], None] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.db = db
        self.log = log
        self.receipts = receipts
        self.policy = policy
        self.clock = clock
        self.source = source
        self.on_stored = on_stored
        self.redactor = redactor or log.redactor
        self.store = ProposalStore(db)

    # -- helpers ---------------------------------------------------------------------------

    def _now(self) -> str:
        return isoformat(self.clock.now())

    def _event(
        self,
        event_type: str,
        data: Mapping[str, Any],
        proposal: Proposal,
        causation_id: str | None,
    ) -> Event:
        event = new_event(
            event_type,
            data,
            clock=self.clock,
            source=self.source,
            subject=proposal.id,
            correlation_id=proposal.correlation_id or proposal.event_id,
        )
        return replace(event, causation_id=causation_id)

    def _commit(self, write: Callable[[Any], Sequence[Event]]) -> list[Event]:
        with self.db.transaction() as conn:
            stored = self.log.append_in(conn, list(write(conn)))
        if stored and self.on_stored is not None:
            self.on_stored()
        return stored

    def usage(self, action: str) -> Usage:
        now = self.clock.now()
        day = isoformat(now.replace(hour=0, minute=0, second=0, microsecond=0))
        return Usage(
            kind_last_hour=self.store.count_started(isoformat(now - timedelta(hours=1)), action),
            executions_today=self.store.count_started(day),
            model_proposals_today=self.store.count_proposed(day, "model"),
        )

    def decide(self, action: Action, *, proposer: str, stage: str) -> Decision:
        """The policy's decision now: the static judgement plus rate limits and budgets."""
        decision = self.policy.judge(action, stage, self._now())
        try:
            refused = self.policy.limits(
                action, self.usage(action.kind), proposer=proposer, stage=stage
            )
        except Exception as exc:  # noqa: BLE001 - fail closed: limits that cannot be read
            refused = [f"cannot check rate limits and budgets ({type(exc).__name__}: {exc})"]
        if refused:
            decision = replace(decision, allowed=False, reasons=(*decision.reasons, *refused))
        return decision

    # -- proposing -------------------------------------------------------------------------

    def prepare(
        self,
        kind: object,
        args: object,
        *,
        why: str = "",
        evidence: Mapping[str, Any] | None = None,
        proposer: str = "person:cli",
        expires_s: float | None = None,
        cause: Event | None = None,
        read: Mapping[str, str] | None = None,
    ) -> tuple[Proposal, list[Event], Callable[[], object]]:
        """Validate and judge a proposal: the row, its events and the receipt writer, not yet
        stored (for a bus handler that commits them with its done-marker). ``read``: texts a model
        read before proposing (its tool results), scanned for planted instructions too."""
        action = parse_action(kind, args)
        if not isinstance(why, str) or len(why) > MAX_WHY:
            raise ValidationError(f"why must be a string of at most {MAX_WHY} characters")
        evidence = _evidence(evidence)
        if cause is not None and cause.id not in evidence["events"]:
            evidence["events"].insert(0, cause.id)
        expires = self.policy.config.expires_s if expires_s is None else float(expires_s)
        if not expires > 0:
            raise ValidationError("a proposal must expire after a positive duration")
        now = self.clock.now()
        decision = self.decide(action, proposer=proposer, stage="proposal")
        texts = self._evidence_texts(evidence["events"])
        texts.update(read or {})  # what a model read through its tools before proposing
        argv = action.argv
        flags = flags_for(
            command=command_line(argv) if argv else None,
            why=why,
            evidence=texts,
            proposer=proposer,
        )
        auto = self.policy.auto_approves(action, decision) and not flags
        status = "denied" if not decision.allowed else ("approved" if auto else "pending")
        proposal_id = new_id("pr")
        proposed = new_event(
            catalog.ACTION_PROPOSED,
            {},
            clock=self.clock,
            source=self.source,
            subject=proposal_id,
            cause=cause,
        )
        proposal = Proposal(
            id=proposal_id,
            action=action.kind,
            args=dict(action.args),
            risk=decision.risk,
            effect=action.effect,
            why=self.redactor.redact(why.strip()),
            evidence=evidence,
            proposer=proposer,
            created=isoformat(now),
            expires_at=isoformat(now + timedelta(seconds=expires)),
            status=status,
            policy=decision.to_dict(),
            event_id=proposed.id,
            flags=flags,
            correlation_id=proposed.correlation_id or proposed.id,
            receipt_id=new_id("rc"),
        )
        if status == "denied":
            proposal = replace(
                proposal,
                decided_by="policy",
                decided_via="policy",
                decided_at=proposal.created,
                decision_why="; ".join(decision.reasons),
            )
        elif status == "approved":
            proposal = replace(
                proposal,
                decided_by="config",
                decided_via="config",
                decided_at=proposal.created,
                decision_why="auto_approve (a person marked this kind low-risk in config)",
            )
        proposed = replace(proposed, data=_proposed_data(proposal))
        events = [proposed]
        if status == "denied":
            data: dict[str, Any] = {"proposal_id": proposal.id, "by": "policy", "via": "policy"}
            data |= {"stage": "proposal", "reasons": list(decision.reasons)}
            events.append(self._event(catalog.ACTION_DENIED, data, proposal, proposed.id))
        elif status == "approved":
            data = {"proposal_id": proposal.id, "by": "config", "via": "config"}
            data["rule"] = "auto_approve"
            approved = self._event(catalog.ACTION_APPROVED, data, proposal, proposed.id)
            proposal = replace(proposal, decision_event=approved.id)
            events.append(approved)
        else:
            events.append(self._ask_person(proposal, proposed))

        def write_receipt() -> object:
            return self._record_proposal_receipt(proposal, decision)

        return proposal, events, write_receipt

    def propose(self, kind: object, args: object, **options: Any) -> Change:
        """Make a proposal (validated, judged, flagged) and store it with its events."""
        proposal, events, receipt = self.prepare(kind, args, **options)

        def write(conn: Any) -> Sequence[Event]:
            self.store.insert(conn, proposal)
            receipt()
            return events

        stored = self._commit(write)
        return Change(proposal, tuple(stored))

    def handler_outcome(
        self, proposal: Proposal, receipt: Callable[[], object]
    ) -> Callable[[], None]:
        """The store writes of a prepared proposal, for a bus handler's ``Outcome.apply``."""

        def apply() -> None:
            with self.db.transaction() as conn:  # joins the handler's transaction
                self.store.insert(conn, proposal)
                receipt()

        return apply

    def _ask_person(self, proposal: Proposal, proposed: Event) -> Event:
        flagged = (
            " (flagged: it may come from instructions planted in data)" if proposal.flags else ""
        )
        return self._event(
            catalog.NOTIFICATION_REQUESTED,
            {
                "title": f"Vigil proposes: {proposal.effect}"[:200],
                "body": f"{proposal.why or 'No reason given.'} Risk {proposal.risk}{flagged}. "
                f"`vigil approve {proposal.id}` or `vigil deny {proposal.id}`; it expires at "
                f"{proposal.expires_at[:19].replace('T', ' ')} UTC.",
                "severity": "warning" if proposal.risk == "high" or proposal.flags else "info",
                "fingerprint": f"proposal:{proposal.id}",
                "subject": proposal.id,
            },
            proposal,
            proposed.id,
        )

    def _evidence_texts(self, event_ids: Sequence[str]) -> dict[str, str]:
        texts: dict[str, str] = {}
        for event_id in list(event_ids)[:10]:
            try:
                event = self.log.get(event_id)
            except Exception:  # noqa: BLE001 - evidence that cannot be read adds no text
                continue
            parts = [event.subject or "", *strings_of(event.data)]
            texts[event_id] = "\n".join(p for p in parts if p)
        return texts

    def _record_proposal_receipt(self, proposal: Proposal, decision: Decision) -> object:
        evidence = proposal.evidence
        return self.receipts.record(
            receipt_id=proposal.receipt_id,
            kind="proposal",
            subject=proposal.id,
            provider=proposal.proposer,
            model="policy",
            elapsed_ms=0.0,
            status=proposal.status,
            inputs={
                "events": list(evidence.get("events", [])),
                "knowledge": list(evidence.get("knowledge", [])),
                "receipt": evidence.get("receipt"),
                "proposer": proposal.proposer,
            },
            outcome={
                "action": proposal.action,
                "args": dict(proposal.args),
                "effect": proposal.effect,
                "why": proposal.why,
                "status": proposal.status,
                "policy": decision.to_dict(),
                "flags": [dict(f) for f in proposal.flags],
                "injection_flagged": bool(proposal.flags),
            },
        )

    # -- deciding --------------------------------------------------------------------------

    def approve(self, proposal_id: str, approver: Approver) -> Change:
        """A person approves a pending proposal; it then runs (once) where the daemon runs."""
        _check_person(approver)
        self.expire_due()
        current = self.store.get(proposal_id)
        if current.status != "pending":
            raise ProposalStateError(_state_message(current, "approve"), status=current.status)
        now = self._now()

        def write(conn: Any) -> Sequence[Event]:
            data = {"proposal_id": current.id, "by": approver.by, "via": approver.via}
            data |= {"action": current.action, **dict(approver.extra)}
            event = self._event(catalog.ACTION_APPROVED, data, current, current.event_id)
            changes = {"status": "approved", "decided_by": approver.by}
            changes |= {"decided_via": approver.via, "decided_at": now, "decision_event": event.id}
            if not self.store.move(conn, current.id, ("pending",), changes):
                raise ProposalStateError(
                    _state_message(self.store.get(current.id), "approve"), status="changed"
                )
            return [event]

        stored = self._commit(write)
        return Change(self.store.get(current.id), tuple(stored))

    def deny(self, proposal_id: str, approver: Approver, why: str = "") -> Change:
        """A person denies a pending proposal (or an approved one that has not started)."""
        _check_person(approver)
        if not isinstance(why, str) or len(why) > MAX_WHY:
            raise ValidationError(f"--why must be at most {MAX_WHY} characters")
        self.expire_due()
        current = self.store.get(proposal_id)
        if current.status not in ("pending", "approved") or current.started_at:
            raise ProposalStateError(_state_message(current, "deny"), status=current.status)
        now = self._now()
        reason = self.redactor.redact(why.strip())

        def write(conn: Any) -> Sequence[Event]:
            data = {"proposal_id": current.id, "by": approver.by, "via": approver.via}
            data |= {"why": reason, "stage": "person"}
            event = self._event(catalog.ACTION_DENIED, data, current, current.event_id)
            changes = {"status": "denied", "decided_by": approver.by, "decided_via": approver.via}
            changes |= {"decided_at": now, "decision_why": reason, "decision_event": event.id}
            if not self.store.move(
                conn, current.id, ("pending", "approved"), changes, unstarted=True
            ):
                raise ProposalStateError(
                    _state_message(self.store.get(current.id), "deny"), status="changed"
                )
            return [event]

        stored = self._commit(write)
        return Change(self.store.get(current.id), tuple(stored))

    def expire_due(self) -> list[Change]:
        """Expire (as denied) every pending proposal past its time, once each."""
        now = self._now()
        changes: list[Change] = []
        for proposal in self.store.due(now):

            def write(conn: Any, proposal: Proposal = proposal) -> Sequence[Event]:
                data = {"proposal_id": proposal.id, "expired_at": proposal.expires_at}
                data |= {"action": proposal.action, "effect": proposal.effect}
                expired = self._event(catalog.ACTION_EXPIRED, data, proposal, proposal.event_id)
                moved = self.store.move(
                    conn,
                    proposal.id,
                    ("pending",),
                    {
                        "status": "expired",
                        "decided_by": "clock",
                        "decided_via": "expiry",
                        "decided_at": now,
                        "decision_why": "nobody answered in time (an expired proposal is denied)",
                        "decision_event": expired.id,
                    },
                )
                if not moved:
                    return []
                notice = self._event(
                    catalog.NOTIFICATION_REQUESTED,
                    {
                        "title": f"Proposal expired: {proposal.effect}"[:200],
                        "body": f"Nobody approved {proposal.id} by {proposal.expires_at[:19]}"
                        " UTC, so it counts as denied and will not run.",
                        "severity": "info",
                        "fingerprint": f"proposal-expired:{proposal.id}",
                        "subject": proposal.id,
                    },
                    proposal,
                    expired.id,
                )
                return [expired, notice]

            stored = self._commit(write)
            if stored:
                changes.append(Change(self.store.get(proposal.id), tuple(stored)))
        return changes

    # -- executing -------------------------------------------------------------------------

    def begin(self, proposal_id: str, runner: Mapping[str, Any] | None = None) -> Change:
        """Claim an approved proposal for execution, after judging it again; the change's
        proposal is ``approved`` with ``started_at`` set (run it) or ``denied`` (do not)."""
        current = self.store.get(proposal_id)
        if current.status != "approved" or current.started_at:
            raise ProposalStateError(_state_message(current, "run"), status=current.status)
        if current.decided_via not in (*PERSON_VIAS, "config") or not current.decision_event:
            raise ProposalStateError(f"proposal {current.id} has no approval by a person")
        action = parse_action(current.action, current.args)
        decision = self.decide(action, proposer=current.proposer, stage="execution")
        now = self._now()
        info = {"host": socket.gethostname(), "pid": os.getpid(), **(runner or {})}

        def write(conn: Any) -> Sequence[Event]:
            if not decision.allowed:
                data: dict[str, Any] = {"proposal_id": current.id, "by": "policy"}
                data |= {"via": "policy", "stage": "execution", "reasons": list(decision.reasons)}
                event = self._event(catalog.ACTION_DENIED, data, current, current.decision_event)
                changes = {"status": "denied", "policy": decision.to_dict()}
                changes |= {"decided_by": "policy", "decided_via": "policy", "decided_at": now}
                changes |= {"decision_why": "; ".join(decision.reasons)}
                if not self.store.move(conn, current.id, ("approved",), changes, unstarted=True):
                    raise ProposalStateError(f"proposal {current.id} changed meanwhile")
                return [event]
            changes = {"started_at": now, "runner": info, "policy": decision.to_dict()}
            if not self.store.move(conn, current.id, ("approved",), changes, unstarted=True):
                raise ProposalStateError(f"proposal {current.id} is already running or decided")
            return []

        stored = self._commit(write)
        return Change(self.store.get(current.id), tuple(stored))

    def note_process(self, proposal_id: str, runner: Mapping[str, Any]) -> None:
        """Remember the process an execution started (to clean up after a crash)."""
        with self.db.transaction() as conn:
            current = self.store.get(proposal_id)
            merged = {**dict(current.runner or {}), **dict(runner)}
            self.store.move(conn, proposal_id, ("approved",), {"runner": merged}, unstarted=False)

    def finish(self, proposal_id: str, result: Mapping[str, Any]) -> Change:
        """Record how an execution ended: ``action.executed`` (exit 0) or ``action.failed``."""
        current = self.store.get(proposal_id)
        ok = bool(result.get("ok"))
        now = self._now()
        clean = self.redactor.redact_obj(dict(result))

        def write(conn: Any) -> Sequence[Event]:
            kind = catalog.ACTION_EXECUTED if ok else catalog.ACTION_FAILED
            data = {"proposal_id": current.id, "action": current.action, **clean}
            event = self._event(kind, data, current, current.decision_event or current.event_id)
            changes = {"status": "executed" if ok else "failed", "finished_at": now}
            changes["result"] = clean
            if not self.store.move(conn, current.id, ("approved",), changes, unstarted=False):
                raise ProposalStateError(f"proposal {current.id} was not running")
            self.receipts.record(
                kind="execution",
                subject=current.id,
                provider="executor",
                model=current.action,
                elapsed_ms=float(clean.get("duration_ms") or 0.0),
                status="ok" if ok else "failed",
                inputs={
                    "proposal": current.id,
                    "approval": current.decision_event,
                    "approved_by": current.decided_by,
                    "approved_via": current.decided_via,
                    "runner": dict(current.runner or {}),
                },
                outcome=clean,
            )
            return [event]

        stored = self._commit(write)
        return Change(self.store.get(current.id), tuple(stored))

    def recover(self, still_running: Callable[[Mapping[str, Any]], bool]) -> list[Change]:
        """Executions that were started and never finished (the process that ran them died):
        recorded as failed, interrupted, and never run again."""
        changes: list[Change] = []
        for proposal in self.store.unfinished():
            runner = dict(proposal.runner or {})
            if still_running(runner):
                continue
            reason = (
                f"interrupted: the Vigil process running it (pid {runner.get('pid', '?')}) "
                "stopped before it finished; it is not run again"
            )
            changes.append(
                self.finish(
                    proposal.id,
                    {"ok": False, "interrupted": True, "reason": reason, "limit": None},
                )
            )
        return changes


def _check_person(approver: Approver) -> None:
    by = (approver.by or "").strip()
    if approver.via not in PERSON_VIAS:
        raise ValidationError(
            f"approvals come from a person (cli, api, dashboard, voice), not {approver.via!r}"
        )
    if not by or by.lower().startswith(("model", "policy", "config", "clock")):
        raise ValidationError(f"{by or 'nobody'!r} cannot approve or deny: only a person can")


def _state_message(proposal: Proposal, verb: str) -> str:
    when = (proposal.decided_at or "")[:19].replace("T", " ")
    status = proposal.status
    if status == "approved" and proposal.started_at:
        return f"cannot {verb} {proposal.id}: it is running (started {proposal.started_at[:19]})"
    if status == "approved":
        return (
            f"cannot {verb} {proposal.id}: already approved by {proposal.decided_by}"
            f" via {proposal.decided_via} at {when}"
        )
    if status == "expired":
        expired = proposal.expires_at[:19].replace("T", " ")
        return f"cannot {verb} {proposal.id}: it expired at {expired}"
    if status == "denied":
        who = "the policy" if proposal.decided_by == "policy" else proposal.decided_by
        why = f": {proposal.decision_why}" if proposal.decision_why else ""
        return f"cannot {verb} {proposal.id}: it was denied by {who}{why}"[:400]
    return (
        f"cannot {verb} {proposal.id}: it already {status} at {(proposal.finished_at or '')[:19]}"
    )


def _evidence(evidence: Mapping[str, Any] | None) -> dict[str, Any]:
    evidence = dict(evidence or {})
    out: dict[str, Any] = {"events": [], "knowledge": []}
    for key in ("events", "knowledge"):
        values = evidence.pop(key, []) or []
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise ValidationError(f"evidence {key} must be a list of ids")
        out[key] = list(dict.fromkeys(values))[:50]
    receipt = evidence.pop("receipt", None)
    if receipt is not None:
        if not isinstance(receipt, str):
            raise ValidationError("evidence receipt must be a receipt id")
        out["receipt"] = receipt
    note = evidence.pop("note", None)
    if note is not None:
        out["note"] = str(note)[:2000]
    if evidence:
        raise ValidationError(f"unknown evidence key {sorted(evidence)[0]!r}")
    return out


def _proposed_data(proposal: Proposal) -> dict[str, Any]:
    return {
        "proposal_id": proposal.id,
        "action": proposal.action,
        "args": dict(proposal.args),
        "risk": proposal.risk,
        "effect": proposal.effect,
        "why": proposal.why,
        "evidence": dict(proposal.evidence),
        "proposer": proposal.proposer,
        "expires_at": proposal.expires_at,
        "status": proposal.status,
        "policy": dict(proposal.policy),
        "flags": [dict(f) for f in proposal.flags],
    }
