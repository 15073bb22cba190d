"""Run and failure history, derived from the event log.

A trigger projects every ``build.run.passed|failed`` event into the ``runs`` table as it is
inserted, by whichever process inserts it, so history is never behind the log and costs no
handler. Failure history comes from ``triage.completed`` events, whose ``fingerprint`` column is
indexed. Commands are identified by the run event's ``subject`` (the command line) plus ``cwd``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vigil.events.catalog import BUILD_RUN_FAILED, BUILD_RUN_PASSED, TRIAGE_COMPLETED
from vigil.events.log import SqliteEventLog
from vigil.storage import apply_migrations, sql

MIGRATIONS = [
    sql(
        """CREATE TABLE runs (
            seq INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL,
            subject TEXT,
            cwd TEXT,
            status TEXT NOT NULL,
            head TEXT,
            tree TEXT,
            time TEXT NOT NULL,
            exit_code INTEGER
        )""",
        "CREATE INDEX runs_subject ON runs (subject, cwd, seq)",
        "CREATE INDEX runs_event ON runs (event_id)",
        f"""CREATE TRIGGER events_project_runs AFTER INSERT ON events
            WHEN NEW.type IN ('{BUILD_RUN_PASSED}', '{BUILD_RUN_FAILED}')
            BEGIN
                INSERT OR REPLACE INTO runs VALUES (
                    NEW.seq, NEW.id, NEW.subject,
                    json_extract(NEW.data, '$.cwd'),
                    CASE NEW.type WHEN '{BUILD_RUN_PASSED}' THEN 'passed' ELSE 'failed' END,
                    json_extract(NEW.data, '$.git.head'),
                    json_extract(NEW.data, '$.git.tree'),
                    NEW.time,
                    json_extract(NEW.data, '$.exit_code'));
            END""",
        f"""INSERT OR REPLACE INTO runs
            SELECT seq, id, subject, json_extract(data, '$.cwd'),
                   CASE type WHEN '{BUILD_RUN_PASSED}' THEN 'passed' ELSE 'failed' END,
                   json_extract(data, '$.git.head'), json_extract(data, '$.git.tree'),
                   time, json_extract(data, '$.exit_code')
            FROM events WHERE type IN ('{BUILD_RUN_PASSED}', '{BUILD_RUN_FAILED}')""",
    ),
]


@dataclass(frozen=True, slots=True)
class Run:
    seq: int
    event_id: str
    subject: str | None
    cwd: str | None
    status: str
    head: str | None
    tree: str | None
    time: str
    exit_code: int | None


@dataclass(frozen=True, slots=True)
class FailureHistory:
    seen: int  # earlier triaged failures with this fingerprint (this one not counted)
    first_seen: str | None
    last_seen: str | None
    flaky: bool  # the same failure came and went on an unchanged tree

    def to_dict(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "flaky": self.flaky,
        }


class RunHistory:
    """Queries over past runs and failures."""

    def __init__(self, event_log: SqliteEventLog) -> None:
        self.log = event_log
        self.db = event_log.db
        apply_migrations(self.db, "history", MIGRATIONS)

    def last_run(
        self, subject: str | None, cwd: str | None, before_seq: int, status: str | None = None
    ) -> Run | None:
        """The latest run of this command in this directory before ``before_seq``."""
        row = self.db.query_one(
            "SELECT seq, event_id, subject, cwd, status, head, tree, time, exit_code FROM runs"
            " WHERE subject IS ? AND cwd IS ? AND seq < ? AND (? IS NULL OR status = ?)"
            " ORDER BY seq DESC LIMIT 1",
            (subject, cwd, before_seq, status, status),
        )
        return Run(*row) if row else None

    def git_of(self, event_id: str) -> dict[str, Any] | None:
        """The ``git`` payload of a run event, without loading its output."""
        row = self.db.query_one(
            "SELECT json_extract(data, '$.git') FROM events WHERE id = ?", (event_id,)
        )
        if row is None or row[0] is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    def failure_history(
        self,
        fingerprint: str,
        *,
        subject: str | None,
        cwd: str | None,
        tree: str | None,
        exclude_cause: str | None = None,
    ) -> FailureHistory:
        """How often this failure was seen before, and whether it is flaky."""
        row = self.db.query_one(
            "SELECT COUNT(*), MIN(time), MAX(time) FROM events"
            " WHERE fingerprint = ? AND type = ? AND causation_id IS NOT ?",
            (fingerprint, TRIAGE_COMPLETED, exclude_cause),
        )
        seen, first, last = (int(row[0]), row[1], row[2]) if row else (0, None, None)
        trees = {tree} if tree else set()
        if seen:
            for (old_tree,) in self.db.query(
                "SELECT r.tree FROM events t JOIN runs r ON r.event_id = t.causation_id"
                " WHERE t.fingerprint = ? AND t.type = ? AND r.tree IS NOT NULL"
                " ORDER BY t.seq DESC LIMIT 200",
                (fingerprint, TRIAGE_COMPLETED),
            ):
                trees.add(old_tree)
        flaky = False
        if trees and subject is not None:
            marks = ",".join("?" for _ in trees)
            flaky = (
                self.db.query_one(
                    "SELECT 1 FROM runs WHERE subject = ? AND cwd IS ? AND status = 'passed'"
                    f" AND tree IN ({marks}) LIMIT 1",
                    (subject, cwd, *trees),
                )
                is not None
            )
        return FailureHistory(seen=seen, first_seen=first, last_seen=last, flaky=flaky)

    def triage_of(self, failure_event_id: str) -> str | None:
        """The fingerprint triage gave a failure, if it was triaged."""
        row = self.db.query_one(
            "SELECT fingerprint FROM events WHERE causation_id = ? AND type = ? LIMIT 1",
            (failure_event_id, TRIAGE_COMPLETED),
        )
        return row[0] if row else None
