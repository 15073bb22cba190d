"""Learning from red to green: a failure that later passes teaches a candidate fix.

In: ``build.run.passed``. When the previous run of the same command in the same directory had
failed with fingerprint F, what changed in between is recorded in the knowledge base as a
*candidate* fix linked to F, and ``knowledge.fix.learned`` is published. The next failure with F
shows it among its known fixes; seeing the same change fix F again raises its confidence, and a
person can confirm, edit or reject it (``vigil kb``).

What the fix says comes from the change that turned it green, not from whatever else happened
in between:

- the changed files are ranked by relevance to the failure with triage's own ranking (named by
  the failure, the code a failing test is named after, mentioned in the output, code over docs);
- the title is the subject of a commit only when that commit made the green content of the most
  relevant file (it touched it, and the file is clean when the command passes); otherwise it
  names the relevant files ("Fixed by changing shop/cart.py");
- the entry keeps the diff of red against green (``Entry.diff``), most relevant file first:
  the red side of an uncommitted file comes from the failing run's snapshot
  (``vigil.memory.snapshots``), committed and green content from git or the working tree;
  both sides are redacted before they are compared.

A failure that already has a confirmed fix gets no rival candidate (see
``KnowledgeBase.record_candidate_fix``); a sighting of the confirmed fix itself only counts as
evidence and publishes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from vigil.clock import Clock
from vigil.events.bus import Outcome
from vigil.events.catalog import FIX_LEARNED
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.handlers.triage import Suspect, failure_facts, rank_suspects, relevant_suspects
from vigil.memory.changes import ChangedFile, ChangeInspector, ChangeSet, Commit
from vigil.memory.diff import FileChange, counts, unified
from vigil.memory.history import RunHistory
from vigil.memory.knowledge import KnowledgeBase
from vigil.memory.snapshots import SnapshotStore
from vigil.parsing import Failure, parse_output

CONSUMER = "learner"
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
MAX_DIFF_FILES = 8
_BINARY_PROBE = 8000


def describe(
    change_set: ChangeSet,
    command: str,
    ranked: Sequence[Suspect] = (),
    failures: Sequence[Failure] = (),
    dirty: Collection[str] = (),
) -> tuple[str, str]:
    """A title and a Markdown body for the fix a change set represents.

    ``ranked`` is the change set ranked by relevance to the failure (``rank_suspects``);
    without it every file counts as relevant, in the change set's order. ``dirty`` are the
    files not committed in the green state: whatever commits touched them on the way, their
    green content is an uncommitted change, so no commit names it.
    """
    if not ranked:
        ranked = [
            Suspect(f.path, 0.0, (), f.committed, f.commits, f.added, f.removed)
            for f in change_set.files
        ]
    relevant = relevant_suspects(ranked)
    commit = _commit_of(relevant[0], change_set, dirty) if relevant else None
    if commit is not None:
        title = f"Fixed by: {commit.subject}"
    else:
        paths = [s.path for s in relevant]
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        title = f"Fixed by changing {shown}"
    lines = [f"`{command}` passed again after these changes:", ""]
    chosen = {s.path for s in relevant}
    for suspect in [*relevant, *(s for s in ranked if s.path not in chosen)][:50]:
        stat = f" (+{suspect.added} -{suspect.removed})" if suspect.added is not None else ""
        where = "committed" if suspect.committed and suspect.path not in dirty else "uncommitted"
        plain = ("uncommitted", "changed ")
        why = next((r for r in suspect.reasons if not r.startswith(plain)), "")
        if suspect.path not in chosen:
            why = "not linked to the failure"
        lines.append(f"- `{suspect.path}`{stat}, {where}" + (f": {why}" if why else ""))
    if failures:
        first = failures[0]
        what = first.error_type or first.message[:80]
        where = first.test or first.file or ""
        lines += ["", f"The failure: {what}" + (f" in `{where}`" if where else "")]
    if change_set.commits:
        lines += ["", "Commits in between:", ""]
        lines += [f"- {c.sha} {c.subject} ({c.author})" for c in change_set.commits[:20]]
    return title[:200], "\n".join(lines)


def _commit_of(suspect: Suspect, change_set: ChangeSet, dirty: Collection[str]) -> Commit | None:
    """The newest commit in between that touched ``suspect``, when that commit made its green
    content (the file is not dirty in the green state)."""
    if not suspect.committed or not suspect.commits or suspect.path in dirty:
        return None
    return next((c for c in change_set.commits if c.sha in suspect.commits), None)


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
        snapshots: SnapshotStore | None = None,
    ) -> None:
        self.log = log
        self.knowledge = knowledge
        self.history = history
        self.changes = changes
        self.clock = clock
        self.snapshots = snapshots

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
        failed = self.log.get(previous.event_id)
        output = str(failed.data.get("output_tail") or "")
        parsed = parse_output(output, cwd=failed.data.get("cwd"), command=failed.subject)
        fingerprint = self.history.triage_of(previous.event_id) or parsed.fingerprint
        if not fingerprint:
            return None
        failures = parsed.failures
        ranked = rank_suspects(change_set, failures, output, len(change_set.files))
        relevant = relevant_suspects(ranked)
        order = [s.path for s in relevant] + [s.path for s in ranked if s not in relevant]
        diff = self._diff(str(after.get("root") or ""), change_set, order)
        stats = counts(diff)  # red -> green, where git's stat (HEAD -> green) says nothing
        ranked = [
            replace(s, added=stats[s.path][0], removed=stats[s.path][1]) if s.path in stats else s
            for s in ranked
        ]
        relevant = relevant_suspects(ranked)
        command = event.subject or str(event.data.get("command"))
        dirty = set(after.get("blobs") or {})
        title, body = describe(change_set, command, ranked, failures, dirty)
        provenance: dict[str, Any] = {
            "source": "learner",
            "author": "vigil",
            "events": [previous.event_id, event.id],
            "command": event.subject,
            "cwd": cwd,
            "files": sorted(change_set.paths),
            "relevant": sorted(s.path for s in relevant),
            "commits": [c.sha for c in change_set.commits],
            "failure": failure_facts(failures).to_dict(),
        }

        def apply() -> Sequence[Event]:
            entry = self.knowledge.record_candidate_fix(
                fingerprint, title, body, provenance, diff=diff
            )
            if entry is None or entry.status != "candidate":
                return []  # a confirmed fix seen again, or a rejected one: nothing to announce
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

    def _diff(self, root: str, change_set: ChangeSet, order: Sequence[str]) -> str:
        """The unified diff red -> green of the changed files in ``order`` (bounded); files
        whose content is unknown on either side are left out."""
        by_path = {f.path: f for f in change_set.files}
        files = [by_path[p] for p in order if p in by_path][:MAX_DIFF_FILES]
        blobs = {str(b) for f in files for b in (f.before, f.after) if _real(b)}
        if not root or not blobs:
            return ""
        texts: dict[str, str] = self.snapshots.get(blobs) if self.snapshots else {}
        wanted: dict[str, str | None] = {}
        for changed in files:
            for blob, path in ((changed.before, None), (changed.after, changed.path)):
                if _real(blob) and blob not in texts and (path or blob not in wanted):
                    wanted[str(blob)] = path
        for blob, data in self.changes.contents(root, wanted).items():
            text = _text(data)
            if text is not None:
                texts[blob] = self.snapshots.clean(text) if self.snapshots else text
        sides = [_sides(changed, texts) for changed in files]
        return unified([side for side in sides if side is not None])


def _real(blob: str | None) -> bool:
    return blob is not None and len(blob) == 40 and blob != EMPTY_BLOB


def _content(blob: str | None, texts: Mapping[str, str]) -> tuple[bool, str | None]:
    """``(known, text)`` of one side: ``None`` text for a file that did not exist."""
    if blob == "-":
        return True, None
    if blob == EMPTY_BLOB:
        return True, ""
    if blob is not None and blob in texts:
        return True, texts[blob]
    return False, None


def _sides(changed: ChangedFile, texts: Mapping[str, str]) -> FileChange | None:
    known_old, old = _content(changed.before, texts)
    known_new, new = _content(changed.after, texts)
    if not (known_old and known_new):
        return None
    return FileChange(changed.path, old, new)


def _text(data: bytes) -> str | None:
    if b"\0" in data[:_BINARY_PROBE]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
