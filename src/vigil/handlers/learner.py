"""Learning from red to green: a failure that later passes teaches a candidate fix.

In: ``build.run.passed``. When the previous run of the same command in the same directory had
failed with fingerprint F, what changed in between (files, diff stat, commits) is recorded in the
knowledge base as a *candidate* fix linked to F, and ``knowledge.fix.learned`` is published. The
next failure with F shows it among its known fixes; seeing the same change fix F again raises its
confidence, and a person can confirm, edit or reject it (``vigil kb``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vigil.clock import Clock
from vigil.events.bus import Outcome
from vigil.events.catalog import FIX_LEARNED
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.memory.changes import ChangeInspector, ChangeSet
from vigil.memory.history import RunHistory
from vigil.memory.knowledge import KnowledgeBase
from vigil.parsing import parse_output

CONSUMER = "learner"


def describe(change_set: ChangeSet, command: str) -> tuple[str, str]:
    """A title and a Markdown body for the fix a change set represents."""
    paths = change_set.paths
    if change_set.commits:
        title = f"Fixed by: {change_set.commits[0].subject}"
    else:
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        title = f"Fixed by changing {shown}"
    lines = [f"`{command}` passed again after these changes:", ""]
    for changed in change_set.files[:50]:
        stat = ""
        if changed.added is not None:
            stat = f" (+{changed.added} -{changed.removed})"
        where = "committed" if changed.committed else "uncommitted"
        lines.append(f"- `{changed.path}`{stat}, {where}")
    if change_set.commits:
        lines += ["", "Commits:", ""]
        lines += [f"- {c.sha} {c.subject} ({c.author})" for c in change_set.commits[:20]]
    return title[:200], "\n".join(lines)


class Learner:
    """Records candidate fixes when a failing command turns green."""

    def __init__(
        self,
        *,
        log: SqliteEventLog,
        knowledge: KnowledgeBase,
        history: RunHistory,
        changes: ChangeInspector,
        clock: Clock,
    ) -> None:
        self.log = log
        self.knowledge = knowledge
        self.history = history
        self.changes = changes
        self.clock = clock

    def _fingerprint(self, failed_id: str) -> str | None:
        known = self.history.triage_of(failed_id)
        if known:
            return known
        failed = self.log.get(failed_id)
        parsed = parse_output(
            str(failed.data.get("output_tail") or ""),
            cwd=failed.data.get("cwd"),
            command=failed.subject,
        )
        return parsed.fingerprint or None

    def handle(self, event: Event) -> Outcome | None:
        if event.seq is None:
            return None
        cwd = event.data.get("cwd")
        previous = self.history.last_run(event.subject, cwd, event.seq)
        if previous is None or previous.status != "failed":
            return None
        after = event.data.get("git")
        before = self.history.git_of(previous.event_id)
        if not isinstance(after, dict) or before is None:
            return None
        change_set = self.changes.changes(before, after)
        if not change_set.files:
            return None  # nothing changed: a flaky pass teaches no fix
        fingerprint = self._fingerprint(previous.event_id)
        if not fingerprint:
            return None
        title, body = describe(change_set, event.subject or str(event.data.get("command")))
        provenance: dict[str, Any] = {
            "source": "learner",
            "author": "vigil",
            "events": [previous.event_id, event.id],
            "command": event.subject,
            "cwd": cwd,
            "files": sorted(change_set.paths),
            "commits": [c.sha for c in change_set.commits],
        }

        def apply() -> Sequence[Event]:
            entry = self.knowledge.record_candidate_fix(fingerprint, title, body, provenance)
            learned = new_event(
                FIX_LEARNED,
                {
                    "entry_id": entry.id,
                    "fingerprint": fingerprint,
                    "title": entry.title,
                    "confidence": entry.confidence,
                    "seen": entry.seen,
                    "failed_event_id": previous.event_id,
                    "files": provenance["files"],
                },
                clock=self.clock,
                source="vigil.learner",
                subject=event.subject,
                fingerprint=fingerprint,
                cause=event,
            )
            return [learned]

        return Outcome(apply=apply)
