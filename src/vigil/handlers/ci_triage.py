"""A CI failure is triaged like a local one.

In: ``ci.run.failed``. Out: ``triage.completed`` (``causation_id`` = the CI failure, the same
shape as a local diagnosis), plus a receipt. The text diagnosed is the failed job's log when a
log reader is configured (the GitHub REST API with a token, behind its breaker: see
``vigil.sources.github_api``), and otherwise, or when the log cannot be had, the summary the
webhook payload carried (failed steps, a check's output). The diagnosis notes which it was.
CI runs have no local git state, so there are no suspects; history and known fixes work as
for local failures (by fingerprint and text).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from vigil.errors import CircuitOpen, SourceError
from vigil.events.bus import Outcome
from vigil.events.model import Event
from vigil.handlers.triage import Triage
from vigil.storage import Database

CONSUMER = "ci_triage"
LogReader = Callable[[Mapping[str, Any]], Awaitable[str | None]]


class CiTriage:
    """Async bus handler for ``ci.run.failed`` (the log fetch must not hold the database)."""

    def __init__(self, triage: Triage, db: Database, read_log: LogReader | None = None) -> None:
        self.triage = triage
        self.db = db
        self.read_log = read_log

    async def text(self, data: Mapping[str, Any]) -> tuple[str, str]:
        """What to diagnose and where it came from."""
        if self.read_log is not None:
            try:
                log = await self.read_log(data)
            except (SourceError, CircuitOpen) as exc:
                return str(
                    data.get("summary") or ""
                ), f"job log not fetched ({exc}); payload summary"
            if log:
                return log, "job log from the GitHub API"
        return str(data.get("summary") or ""), "payload summary (no GitHub token configured)"

    async def handle(self, event: Event) -> Outcome:
        data = event.data
        text, origin = await self.text(data)
        command = f"{data.get('workflow') or 'ci'}: {data.get('name') or data.get('kind') or ''}"
        diagnosis = await self.db.call(
            lambda: self.triage.diagnose(text, command=command.strip(": "), cause_id=event.id)
        )
        diagnosis = replace(diagnosis, notes=(*diagnosis.notes, f"diagnosed from the {origin}"))
        return Outcome(
            events=[self.triage.completed_event(event, diagnosis)],
            apply=lambda: self.triage.record_receipt(event, diagnosis),
        )
