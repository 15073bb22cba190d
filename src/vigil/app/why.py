"""What ``vigil why ID`` explains, gathered once for every face (the CLI and the dashboard).

:func:`why` finds what an id is about and returns :class:`Why`: its ``kind`` and ``body`` (the
JSON ``vigil why --json`` prints), plus the objects the CLI words its text from. Three kinds:

- ``notification``: a request or any decision about it: the inbox entry, the event that caused
  it, and every decision with its gates' say (:func:`explain_notification`);
- ``proposal``: a proposal, its ``action.*`` events or receipts: the chain from the failure that
  led to it to what came of it (``vigil.guard.chain``);
- ``receipts``: a failure, its ``triage.completed`` or ``triage.enriched``, or a receipt id: the
  failure and the receipts of everything based on it (:func:`receipts_behind`).

Raises ``NotFoundError`` (or ``UsageError`` for a malformed id) when nothing explains the id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vigil.errors import NotFoundError, VigilError
from vigil.events import catalog

if TYPE_CHECKING:
    from vigil.app import Vigil
    from vigil.events.model import Event
    from vigil.guard.proposals import Proposal
    from vigil.memory.receipts import Receipt


@dataclass(frozen=True, slots=True)
class Why:
    """The explanation of one id: ``body`` is ``vigil why --json``'s object."""

    kind: str  # notification | proposal | receipts
    body: dict[str, Any]
    proposal: Proposal | None = None
    receipts: list[Receipt] = field(default_factory=list)


def explain_notification(vigil: Vigil, event: Event) -> dict[str, Any] | None:
    """The request behind ``event`` (a request or a decision) with every decision about it;
    ``None`` when ``event`` is neither."""
    from vigil.notify.inbox import inbox

    if event.type == catalog.NOTIFICATION_REQUESTED:
        request_id = event.id
    elif event.type in (*catalog.NOTIFICATION_DECISIONS, catalog.NOTIFICATION_FAILED):
        request_id = str(event.data.get("request_id") or event.causation_id)
    else:
        return None
    request = vigil.log.get(request_id)
    (entry,) = [
        e for e in inbox(vigil.log, limit=None, since=request.time) if e["id"] == request_id
    ]
    details = [
        d.to_dict() for d in vigil.log.caused_by([request_id], catalog.NOTIFICATION_DECISIONS)
    ]
    cause = None
    if request.causation_id:
        try:
            cause = vigil.log.get(request.causation_id).to_dict()
        except VigilError:  # a missing cause is shown as missing
            cause = None
    return {"request": entry, "cause": cause, "decisions": details}


def receipts_behind(
    vigil: Vigil, identifier: str
) -> tuple[str | None, list[Receipt], dict[str, Any] | None]:
    """The failure id, its receipts, and the event behind the id (if it was an event)."""
    receipts = vigil.receipts
    if identifier.startswith("rc_"):
        receipt = receipts.get(identifier)
        related = receipts.for_subject(receipt.subject) if receipt.subject else [receipt]
        return receipt.subject, related or [receipt], None
    event = vigil.log.get(identifier)
    subject = event.id
    if event.type in (catalog.TRIAGE_COMPLETED, catalog.TRIAGE_ENRICHED) and event.causation_id:
        if event.type == catalog.TRIAGE_ENRICHED:
            subject = event.data.get("failure_id") or subject
        else:
            subject = event.causation_id
    found = receipts.for_subject(subject)
    if not found:
        raise NotFoundError(f"nothing recorded explains {identifier} ({event.type})")
    failure = vigil.log.get(subject) if subject != event.id else event
    return subject, found, failure.to_dict()


def _notification(vigil: Vigil, identifier: str) -> dict[str, Any] | None:
    if not identifier.startswith("ev_"):
        return None
    try:
        event = vigil.log.get(identifier)
    except VigilError:
        return None  # not an event: the others say so
    return explain_notification(vigil, event)


def why(vigil: Vigil, identifier: str) -> Why:
    """Everything that explains ``identifier`` (see the module docstring)."""
    found = _notification(vigil, identifier)
    if found is not None:
        return Why("notification", {"id": identifier, **found})
    from vigil.guard.chain import proposal_behind, walk

    proposal = proposal_behind(identifier, vigil.control.store, vigil.log, vigil.receipts)
    if proposal is not None:
        steps = walk(proposal, vigil.log, vigil.receipts)
        chain = {"id": identifier, "proposal": proposal.to_dict(), "chain": steps}
        return Why("proposal", chain, proposal=proposal)
    subject, receipts, event = receipts_behind(vigil, identifier)
    body: dict[str, Any] = {
        "id": identifier,
        "subject": subject,
        "event": event,
        "receipts": [r.to_dict() for r in receipts],
    }
    return Why("receipts", body, receipts=receipts)
