"""Triage: a deterministic diagnosis of a failed run, before any model is asked.

In: ``build.run.failed``. Out: ``triage.completed`` (its ``causation_id`` is the failure's id,
its ``fingerprint`` the run's fingerprint). The diagnosis holds

- the structured failures the parsers found, and the run's fingerprint;
- known fixes: knowledge entries linked to a fingerprint first, then similar ones found by text
  that pass the bar of evidence of ``vigil.memory.similarity`` (same test or file, the code under
  test, a specific error type), each with ``similarity`` (0..1) and ``because``; a learned fix
  carries its ``diff`` and the ``key_change`` lines a person needs to see;
- suspects: files changed since the last passing run of the same command in the same directory,
  ranked higher when the failure names them, then by how recent and how small the change is;
- history: first seen, seen N times before, flaky (came and went on an unchanged tree).

``Triage.diagnose`` is also what ``vigil triage --log FILE`` runs on saved output.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from vigil.clock import Clock
from vigil.events.bus import Outcome
from vigil.events.catalog import TRIAGE_COMPLETED
from vigil.events.model import Event, new_event
from vigil.memory.changes import ChangeInspector, ChangeSet
from vigil.memory.diff import key_lines
from vigil.memory.history import FailureHistory, RunHistory
from vigil.memory.knowledge import KnowledgeBase
from vigil.memory.receipts import ReceiptStore
from vigil.memory.similarity import FailureFacts, tested_stem
from vigil.parsing import Failure, parse_output

CONSUMER = "triage"


@dataclass(frozen=True, slots=True)
class Suspect:
    path: str
    score: float
    reasons: tuple[str, ...]
    committed: bool
    commits: tuple[str, ...] = ()
    added: int | None = None
    removed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "score": round(self.score, 3),
            "reasons": list(self.reasons),
            "committed": self.committed,
            "commits": list(self.commits),
            "added": self.added,
            "removed": self.removed,
        }


@dataclass(frozen=True, slots=True)
class Diagnosis:
    failures: tuple[Failure, ...]
    fingerprint: str
    tools: tuple[str, ...]
    known_fixes: tuple[dict[str, Any], ...]
    suspects: tuple[Suspect, ...]
    history: FailureHistory | None
    summary: str
    elapsed_ms: float
    since_pass: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "failures": [f.to_dict() for f in self.failures],
            "fingerprint": self.fingerprint,
            "tools": list(self.tools),
            "known_fixes": list(self.known_fixes),
            "suspects": [s.to_dict() for s in self.suspects],
            "history": self.history.to_dict() if self.history else None,
            "since_pass": self.since_pass,
            "summary": self.summary,
            "notes": list(self.notes),
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


def summarize(failures: Sequence[Failure], tools: Sequence[str]) -> str:
    """One line: how many failures, from which tool, and the first one."""
    if not failures:
        return "no known failure pattern was found in the output"
    first = failures[0]
    where = first.file or first.test or ""
    if first.file and first.line:
        where = f"{first.file}:{first.line}"
    what = f"{first.error_type}: {first.message}" if first.error_type else first.message
    count = f"{len(failures)} failure{'s' if len(failures) != 1 else ''}"
    tool = "/".join(tools) if tools else first.tool
    head = f"{count} ({tool})"
    return f"{head}: {where} {what}".strip() if where else f"{head}: {what}"


def _in_failures(path: str, failures: Sequence[Failure]) -> Failure | None:
    for failure in failures:
        if not failure.file:
            continue
        named = failure.file.replace("\\", "/").lstrip("./")
        if named == path or named.endswith("/" + path) or path.endswith("/" + named):
            return failure
    return None


def _mentions(output: str, name: str) -> bool:
    """Whether ``name`` appears in ``output`` as a whole file name (not inside a longer one)."""
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", output) is not None


_NOT_CODE = {".md", ".rst", ".txt", ".adoc", ".png", ".jpg", ".svg", ".gif", ".pdf", ".csv"}
_NOT_CODE_NAMES = {"readme", "license", "licence", "changelog", "authors", "notice", "contributing"}


def _tested_stems(failures: Sequence[Failure]) -> set[str]:
    """Stems of the code the failing tests are named after (``test_calc.py`` -> ``calc``)."""
    names = [n for f in failures for n in (f.file, (f.test or "").split("::")[0]) if n]
    return {stem for name in names if (stem := tested_stem(name))}


def failure_facts(failures: Sequence[Failure]) -> FailureFacts:
    """What identifies these failures beyond their words (for similar fixes)."""
    shown = failures[:20]
    return FailureFacts.of(
        tools=(f.tool for f in shown),
        error_types=(f.error_type for f in shown),
        files=(f.file for f in shown),
        tests=(f.test for f in shown),
    )


def _is_code(path: str) -> bool:
    pure = PurePath(path)
    return pure.suffix.lower() not in _NOT_CODE and pure.stem.lower() not in _NOT_CODE_NAMES


def rank_suspects(
    changes: ChangeSet, failures: Sequence[Failure], output: str, limit: int
) -> list[Suspect]:
    """Order changed files by how likely they caused these failures."""
    commit_rank = {c.sha: i for i, c in enumerate(changes.commits)}  # 0 = newest
    subjects = {c.sha: c.subject for c in changes.commits}
    tested = _tested_stems(failures)
    suspects: list[Suspect] = []
    for changed in changes.files:
        score = 1.0 if _is_code(changed.path) else 0.3
        reasons: list[str] = []
        hit = _in_failures(changed.path, failures)
        stem = PurePath(changed.path).name.split(".")[0].lower()
        if hit is not None:
            score += 4.0
            where = f"{hit.file}:{hit.line}" if hit.line else str(hit.file)
            reasons.append(f"named by the failure at {where}")
        elif stem in tested:
            score += 2.5
            reasons.append("the code a failing test is named after")
        elif _mentions(output, PurePath(changed.path).name):
            score += 1.5
            reasons.append("mentioned in the output")
        if not changed.committed:
            score += 1.0
            reasons.append("uncommitted change since the last green run")
        else:
            newest = min((commit_rank.get(sha, 99) for sha in changed.commits), default=99)
            score += 1.0 / (1 + newest)
            first = changed.commits[0] if changed.commits else ""
            reasons.append(f"changed in {first} {subjects.get(first, '')}".strip())
        size = (changed.added or 0) + (changed.removed or 0)
        if size:
            score += 0.3 / (1 + size / 50)
        suspects.append(
            Suspect(
                path=changed.path,
                score=score,
                reasons=tuple(reasons),
                committed=changed.committed,
                commits=changed.commits,
                added=changed.added,
                removed=changed.removed,
            )
        )
    suspects.sort(key=lambda s: (-s.score, s.path))
    return suspects[:limit]


_RELEVANCE = ("named by the failure", "the code a failing test", "mentioned in the output")


def relevant_suspects(ranked: Sequence[Suspect]) -> list[Suspect]:
    """The ranked changes that relate to the failure: those it names, the code a failing test is
    named after, those in its output; failing that the code changes, failing that all."""
    related = [s for s in ranked if any(r.startswith(_RELEVANCE) for r in s.reasons)]
    if related:
        return related
    return [s for s in ranked if _is_code(s.path)] or list(ranked)


def _fix_dict(fix: Any) -> dict[str, Any]:
    entry = fix.entry
    provenance = entry.provenance or {}
    diff = str(getattr(entry, "diff", "") or "")
    key = key_lines(diff) if diff else None
    return {
        "id": entry.id,
        "kind": entry.kind,
        "title": entry.title,
        "status": entry.status,
        "confidence": round(float(entry.confidence), 3),
        "seen": entry.seen,
        "match": fix.match,
        "score": round(float(fix.score), 3),
        "similarity": round(float(fix.similarity), 3),
        "because": fix.because,
        "body": entry.body[:2000],
        "files": list(provenance.get("files", []))[:20],
        "diff": diff[:4000],
        "key_change": key.to_dict() if key else None,
    }


class Triage:
    """Builds diagnoses and handles ``build.run.failed`` on the bus."""

    def __init__(
        self,
        *,
        knowledge: KnowledgeBase,
        history: RunHistory,
        changes: ChangeInspector,
        clock: Clock,
        max_lines: int = 20_000,
        max_fixes: int = 5,
        max_suspects: int = 10,
        receipts: ReceiptStore | None = None,
    ) -> None:
        self.receipts = receipts
        self.knowledge = knowledge
        self.history = history
        self.changes = changes
        self.clock = clock
        self.max_lines = max_lines
        self.max_fixes = max_fixes
        self.max_suspects = max_suspects

    def diagnose(
        self,
        output: str,
        *,
        command: str | None = None,
        cwd: str | None = None,
        git: Mapping[str, Any] | None = None,
        before_seq: int | None = None,
        cause_id: str | None = None,
        git_note: str | None = None,
    ) -> Diagnosis:
        started = time.perf_counter()
        lines = output.splitlines()
        if len(lines) > self.max_lines:
            output = "\n".join(lines[-self.max_lines :])
        parsed = parse_output(output, cwd=cwd, command=command)
        failures = parsed.failures
        fingerprints = [parsed.fingerprint] if parsed.fingerprint else []
        fingerprints += [f.fingerprint for f in failures if f.fingerprint]
        text = " ".join(
            " ".join(p for p in (f.error_type, f.message, f.test) if p) for f in failures[:10]
        )[:1000]
        known = self.knowledge.known_fixes(
            fingerprints, text, limit=self.max_fixes, facts=failure_facts(failures)
        )
        fixes = tuple(_fix_dict(k) for k in known)
        notes: list[str] = [git_note] if git_note and not git else []
        suspects: list[Suspect] = []
        since_pass: dict[str, Any] | None = None
        history: FailureHistory | None = None
        if parsed.fingerprint:
            history = self.history.failure_history(
                parsed.fingerprint,
                subject=command,
                cwd=cwd,
                tree=(git or {}).get("tree"),
                exclude_cause=cause_id,
            )
        if before_seq is not None and command is not None:
            last_pass = self.history.last_run(command, cwd, before_seq, status="passed")
            if last_pass is None:
                notes.append("no passing run of this command is recorded yet")
            elif git:
                before = self.history.git_of(last_pass.event_id)
                if before:
                    change_set = self.changes.changes(before, git)
                    suspects = rank_suspects(change_set, failures, output, self.max_suspects)
                    notes.extend(change_set.notes)
                    since_pass = {
                        "event_id": last_pass.event_id,
                        "time": last_pass.time,
                        "head": last_pass.head,
                        "commits": [c.to_dict() for c in change_set.commits[:20]],
                    }
        elapsed = (time.perf_counter() - started) * 1000
        return Diagnosis(
            failures=failures,
            fingerprint=parsed.fingerprint,
            tools=parsed.tools,
            known_fixes=fixes,
            suspects=tuple(suspects),
            history=history,
            summary=summarize(failures, parsed.tools),
            elapsed_ms=elapsed,
            since_pass=since_pass,
            notes=tuple(notes),
        )

    def diagnose_event(self, event: Event, *, before_seq: int | None = None) -> Diagnosis:
        """Diagnose a stored failure (or, with ``before_seq``, one about to be stored)."""
        data = event.data
        return self.diagnose(
            str(data.get("output_tail") or ""),
            command=event.subject or data.get("command"),
            cwd=data.get("cwd"),
            git=data.get("git") if isinstance(data.get("git"), dict) else None,
            before_seq=event.seq if before_seq is None else before_seq,
            cause_id=event.id,
            git_note=str(data["git_note"]) if data.get("git_note") else None,
        )

    def completed_event(self, event: Event, diagnosis: Diagnosis) -> Event:
        return new_event(
            TRIAGE_COMPLETED,
            diagnosis.to_dict(),
            clock=self.clock,
            source="vigil.triage",
            subject=event.subject,
            fingerprint=diagnosis.fingerprint or None,
            cause=event,
        )

    def handle(self, event: Event) -> Outcome:
        """Bus handler: diagnose the failure and publish ``triage.completed``."""
        diagnosis = self.diagnose_event(event)
        return Outcome(
            events=[self.completed_event(event, diagnosis)],
            apply=lambda: self.record_receipt(event, diagnosis),
        )

    def record_receipt(self, failure: Event, diagnosis: Diagnosis) -> list[Event]:
        """What the diagnosis was based on (for ``vigil why``); no events."""
        if self.receipts is None:
            return []
        inputs: dict[str, Any] = {
            "events": [failure.id]
            + ([diagnosis.since_pass["event_id"]] if diagnosis.since_pass else []),
            "kb": [fix["id"] for fix in diagnosis.known_fixes],
            "commits": [c["sha"] for c in (diagnosis.since_pass or {}).get("commits", [])],
        }
        self.receipts.record(
            kind="triage",
            subject=failure.id,
            provider="deterministic",
            model="vigil-triage",
            elapsed_ms=diagnosis.elapsed_ms,
            inputs=inputs,
            outcome={
                "summary": diagnosis.summary,
                "fingerprint": diagnosis.fingerprint,
                "tools": list(diagnosis.tools),
                "failures": len(diagnosis.failures),
                "known_fixes": [
                    {
                        "id": f["id"],
                        "title": f["title"],
                        "match": f["match"],
                        "similarity": f["similarity"],
                        "because": f["because"],
                    }
                    for f in diagnosis.known_fixes
                ],
                "suspects": [s.path for s in diagnosis.suspects],
                "history": diagnosis.history.to_dict() if diagnosis.history else None,
                "notes": list(diagnosis.notes),
            },
        )
        return []
