"""Enrichment for ``vigil run``: after the diagnosis is printed, wait (at most until the
enrichment deadline after the failure) for a short explanation.

With the daemon up, its enricher does the work and this only watches the log for the
``triage.enriched`` caused by our triage. With no daemon, the chain runs here; a result that
arrives in time is stored exactly once (the enricher's done-marker), and one that does not is
left to the daemon's enricher, which handles every triage it has not seen when it next starts.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.clock import parse_iso
from vigil.events.bus import run_handler
from vigil.events.doorbell import is_listening, ring
from vigil.events.model import Event

if TYPE_CHECKING:
    from vigil.app import Vigil

POLL_S = 0.05


def _deadline(vigil: Vigil, triaged: Event) -> float:
    """The monotonic deadline: ``enrich_deadline_s`` after the failure was recorded."""
    since = (vigil.clock.now() - parse_iso(triaged.time)).total_seconds()
    return time.monotonic() + max(0.0, vigil.settings.enrich_deadline_s - max(0.0, since))


def wait_for_daemon(vigil: Vigil, triaged: Event, deadline: float) -> Event | None:
    while time.monotonic() < deadline:
        found = vigil.log.find(patterns=["triage.enriched"], causation_id=triaged.id, limit=1)
        if found:
            return found[0]
        time.sleep(POLL_S)
    return None


async def _inline(vigil: Vigil, triaged: Event, deadline: float) -> list[Event]:
    from vigil.app.reasoning import close_chain
    from vigil.handlers import enricher as module
    from vigil.reasoning.chain import ChainExhausted

    chain = await vigil.build_chain(vigil.workspace(Path(os.getcwd())))
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


def enrich_run(vigil: Vigil, triaged: Event) -> Event | None:
    """The ``triage.enriched`` for this triage if one arrives before the deadline, else None."""
    if not triaged.data.get("failures"):
        return None
    deadline = _deadline(vigil, triaged)
    if is_listening(vigil.settings.home):
        return wait_for_daemon(vigil, triaged, deadline)
    stored: list[Any] = asyncio.run(_inline(vigil, triaged, deadline))
    return stored[0] if stored else None
