"""Enrichment for ``vigil run``: never at the cost of the prompt.

After the diagnosis is printed, ``vigil run`` returns at once by default:

- when no model is enabled for the enrichment step, the rules word it here and now (a few
  milliseconds, deterministic) and it is stored as ``triage.enriched`` (exactly once, with the
  enricher's done-marker) and printed;
- when a model would be asked, nobody waits: the daemon's enricher does it (at once when it runs,
  else when it next starts, as it handles every triage it has not seen), and the enrichment
  arrives later as ``triage.enriched`` (``vigil why``, ``vigil events``);
- with ``--explain`` (or ``[run] explain = true``) the old way: wait until the enrichment
  deadline after the failure, for the daemon's enrichment or for the chain run here.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.clock import parse_iso
from vigil.events.bus import run_handler
from vigil.events.doorbell import is_listening, ring
from vigil.events.model import Event

if TYPE_CHECKING:
    from vigil.app import Vigil

POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What ``vigil run`` can show about the enrichment of its failure."""

    event: Event | None = None  # the stored ``triage.enriched``, when there is one already
    pending: tuple[str, ...] = ()  # the models that will word it later (nobody waits for them)


def _deadline(vigil: Vigil, triaged: Event) -> float:
    """The monotonic deadline: ``enrich_deadline_s`` after the failure was recorded."""
    since = (vigil.clock.now() - parse_iso(triaged.time)).total_seconds()
    return time.monotonic() + max(0.0, vigil.settings.enrich_deadline_s - max(0.0, since))


def _stored(vigil: Vigil, triaged: Event) -> Event | None:
    found = vigil.log.find(patterns=["triage.enriched"], causation_id=triaged.id, limit=1)
    return found[0] if found else None


def wait_for_daemon(vigil: Vigil, triaged: Event, deadline: float) -> Event | None:
    while time.monotonic() < deadline:
        found = _stored(vigil, triaged)
        if found is not None:
            return found
        time.sleep(POLL_S)
    return None


async def _inline(vigil: Vigil, triaged: Event, deadline: float) -> list[Event]:
    from vigil.app.reasoning import close_chain
    from vigil.handlers import enricher as module
    from vigil.reasoning.chain import ChainExhausted

    chain = await vigil.build_chain(vigil.workspace(Path(os.getcwd())), step="enrich")
    try:
        enricher = vigil.enricher(chain)
        try:
            async with asyncio.timeout(max(0.001, deadline - time.monotonic())):
                enrichment, run = await enricher.enrich(triaged, deadline=deadline)
        except (ChainExhausted, TimeoutError):
            return []
        outcome = enricher.outcome(triaged, enrichment, run)
    finally:
        await close_chain(chain)
    stored = run_handler(vigil.log, module.CONSUMER, lambda _e: outcome, triaged, advance=False)
    if stored:
        ring(vigil.settings.home)
    return stored or []


def enrich_run(vigil: Vigil, triaged: Event, *, wait: bool = False) -> Enrichment:
    """The enrichment of this run's triage: worded by rules now, pending with a model, or (with
    ``wait``) whatever arrives before the deadline."""
    if not triaged.data.get("failures"):
        return Enrichment()
    from vigil.app.reasoning import step_models

    models = step_models(vigil.settings, "enrich")
    if models and not wait:
        return Enrichment(pending=models)
    deadline = _deadline(vigil, triaged)
    if wait and is_listening(vigil.settings.home):
        return Enrichment(wait_for_daemon(vigil, triaged, deadline))
    if not models:
        deadline = max(deadline, time.monotonic() + 1.0)  # rules answer in milliseconds
    stored: list[Any] = asyncio.run(_inline(vigil, triaged, deadline))
    if stored:
        return Enrichment(stored[0])
    return Enrichment(_stored(vigil, triaged))  # the daemon's enricher got there first
