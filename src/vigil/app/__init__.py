"""The composition root: the only place concrete classes are chosen and wired.

``Vigil.open(settings)`` gives one process its stores (database, event log, history, knowledge
base) and the handlers that run on them. The CLI uses it synchronously; ``serve`` (in
``vigil.daemon``) runs the same handlers as durable bus consumers. Heavy parts are built on first
use, so a command that only reads events never imports the parsers or the web stack.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.clock import Clock, SystemClock
from vigil.config import Settings
from vigil.errors import StorageError, VigilError
from vigil.events import catalog
from vigil.events.doorbell import ring
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.handlers.raiser import RAISES_FOR
from vigil.notify.topics import OBSERVED as NOTIFIER_TYPES
from vigil.storage import Database

if TYPE_CHECKING:
    from vigil.app.attention import AttentionService
    from vigil.events.bus import AsyncHandler, Handler
    from vigil.guard.control import Control
    from vigil.handlers.enricher import Enricher
    from vigil.handlers.learner import Learner
    from vigil.handlers.triage import Diagnosis, Triage
    from vigil.memory.history import RunHistory
    from vigil.memory.knowledge import KnowledgeBase
    from vigil.memory.logstate import LogState
    from vigil.memory.receipts import ReceiptStore
    from vigil.memory.snapshots import SnapshotStore
    from vigil.memory.vectors import VectorStore
    from vigil.reasoning.chain import FallbackChain
    from vigil.reasoning.workspace import Workspace
    from vigil.reliability import BreakerRegistry, CircuitBreaker
    from vigil.sources.command import RunResult


BREAKER_EVENTS = {
    "open": catalog.BREAKER_OPENED,
    "half-open": catalog.BREAKER_HALF_OPENED,
    "closed": catalog.BREAKER_CLOSED,
}

# The durable consumers the daemon runs: (name, event types). Names are stored offsets: never
# rename one without a migration of ``consumer_offsets``.
# The attention consumers: ``raiser`` turns what happened into requests (handlers.raiser),
# ``notifier`` decides them, ``deliverer`` sends the delivered ones (app.attention).
CONSUMERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("triage", (catalog.BUILD_RUN_FAILED,)),
    ("learner", (catalog.BUILD_RUN_PASSED,)),
    ("enricher", (catalog.TRIAGE_COMPLETED,)),
    ("raiser", RAISES_FOR),
    ("notifier", NOTIFIER_TYPES),
    ("deliverer", (catalog.NOTIFICATION_DELIVERED,)),
    ("control.requests", (catalog.ACTION_REQUESTED,)),
    ("ci_triage", (catalog.CI_RUN_FAILED,)),  # the daemon's only (vigil.app.hearing)
)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A durable consumer the daemon runs: name, event types, handler."""

    name: str
    patterns: tuple[str, ...]
    handler: Handler | AsyncHandler


@dataclass(frozen=True, slots=True)
class RunReport:
    """Everything ``vigil run`` learned about one command."""

    result: RunResult
    finished: Event
    diagnosis: Diagnosis | None
    learned: tuple[Event, ...]
    not_recorded: str | None = None  # why the run could not be stored (the command still ran)
    triaged: Event | None = None  # the stored triage.completed, when it failed


# What ``vigil run`` needs once its command ends: imported while the command runs, so the
# prompt comes back sooner (the parsers alone compile a few hundred regular expressions).
_AFTER_RUN_MODULES = (
    "vigil.handlers.triage",
    "vigil.handlers.learner",
    "vigil.memory.knowledge",
    "vigil.memory.history",
    "vigil.memory.receipts",
    "vigil.memory.snapshots",
    "vigil.app.guards",
    "vigil.app.enrich",
    "vigil.app.reasoning",
    "vigil.cli.render",
    "vigil.handlers.enricher",
    "vigil.reasoning.chain",
    "vigil.reasoning.providers.rules",
    "vigil.reasoning.workspace",
    "vigil.reasoning.wording",
)


def _prewarm() -> None:
    """Import the after-run modules on a daemon thread while the user's command runs."""
    import importlib
    import threading

    def work() -> None:
        for name in _AFTER_RUN_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the main thread imports it again and reports
                return

    threading.Thread(target=work, name="vigil-prewarm", daemon=True).start()


class Vigil:
    """One process's view of Vigil's state under ``settings.home``."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.db_path)
        self.log = SqliteEventLog(self.db, self.clock)
        self.record_breaker_changes = True
        self._breaker_events: list[Event] = []
        # Who records control's events, and how others hear of them (the daemon changes both).
        self.source = "vigil.cli"
        self.on_stored: Any = lambda: ring(settings.home)

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None) -> Vigil:
        return cls(settings, clock)

    def close(self) -> None:
        if self._breaker_events:
            pending, self._breaker_events = self._breaker_events, []
            with contextlib.suppress(VigilError):
                self.publish(pending)
        if "breakers" in self.__dict__:
            self.breakers.store.db.close()  # type: ignore[union-attr]
        self.db.close()

    def __enter__(self) -> Vigil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- parts, built on first use -----------------------------------------------------------

    @cached_property
    def breakers(self) -> BreakerRegistry:
        """Circuit breakers, stored so every Vigil process on the machine shares their state.

        The store has its own connection, so breaker bookkeeping never queues behind the event
        log's writer.
        """
        from vigil.reliability import BreakerRegistry, BreakerStore

        registry = BreakerRegistry(BreakerStore(Database(self.settings.db_path)), clock=self.clock)
        registry.on_change(self._breaker_changed)
        return registry

    def breaker_event(
        self, name: str, old: str, new: str, reason: str, source: str = "vigil.cli"
    ) -> Event | None:
        """The event for a breaker transition this process caused; ``None`` for one it only
        learned from the store (``synced:``: the process that made it reports it)."""
        kind = BREAKER_EVENTS.get(new)
        if kind is None or reason.startswith("synced:"):
            return None
        data = {"breaker": name, "from": old, "to": new, "reason": reason}
        return self.event(kind, data, subject=name, source=source)

    def _breaker_changed(self, name: str, old: str, new: str, reason: str) -> None:
        """Remember transitions this process caused, to publish when it closes (the daemon
        publishes its own at once and turns this off)."""
        event = self.breaker_event(name, old, new, reason)
        if event is not None and self.record_breaker_changes:
            self._breaker_events.append(event)

    @cached_property
    def git_breaker(self) -> CircuitBreaker:
        from vigil.app.guards import GIT_POLICY

        return self.breakers.get("git", GIT_POLICY)

    @cached_property
    def receipts(self) -> ReceiptStore:
        from vigil.memory.receipts import ReceiptStore

        return ReceiptStore(self.db, self.clock)

    @cached_property
    def control(self) -> Control:
        """Proposals, the policy and their events (``vigil.guard``)."""
        from vigil.app.control import build_control

        return build_control(self, source=self.source, on_stored=self.on_stored)

    @cached_property
    def history(self) -> RunHistory:
        from vigil.memory.history import RunHistory

        return RunHistory(self.log)

    @cached_property
    def log_state(self) -> LogState:
        """Templates and read positions of followed logs."""
        from vigil.memory.logstate import LogState

        return LogState(self.db)

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        """The knowledge base, with semantic recall when it is installed and not turned off
        (its model loads on the first search that needs it; triage never does)."""
        from vigil.memory.knowledge import KnowledgeBase

        kb = KnowledgeBase(self.db, self.clock, semantic=self.vectors)
        kb.retire_after_days = self.settings.retire_candidates_days
        return kb

    @cached_property
    def vectors(self) -> VectorStore | None:
        """The embeddings store, or ``None`` when semantic recall is off or not installed."""
        from vigil.memory import embedder

        if self.settings.memory_semantic == "off" or not embedder.available():
            return None
        from vigil.memory.vectors import VectorStore

        return VectorStore(self.db, embedder.load_embedder)

    @cached_property
    def triage(self) -> Triage:
        from vigil.app.guards import GuardedChanges
        from vigil.handlers.triage import Triage

        return Triage(
            knowledge=self.knowledge,
            history=self.history,
            changes=GuardedChanges(self.git_breaker),
            clock=self.clock,
            max_lines=self.settings.triage_max_lines,
            max_fixes=self.settings.triage_max_fixes,
            max_suspects=self.settings.triage_max_suspects,
            receipts=self.receipts,
        )

    @cached_property
    def learner(self) -> Learner:
        from vigil.app.guards import GuardedChanges
        from vigil.handlers.learner import Learner

        return Learner(
            log=self.log,
            knowledge=self.knowledge,
            history=self.history,
            changes=GuardedChanges(self.git_breaker),
            clock=self.clock,
            snapshots=self.snapshots,
        )

    @cached_property
    def snapshots(self) -> SnapshotStore:
        from vigil.memory.snapshots import SnapshotStore

        return SnapshotStore(self.db, self.clock)

    def keep_red_state(self, failed: Event) -> None:
        """Keep the text of a failing run's dirty files (bounded, redacted, deduplicated by blob
        id) so that a fix learned when it turns green can show its diff. Never fails the run."""
        git = failed.data.get("git")
        if not isinstance(git, dict) or not git.get("blobs"):
            return
        from vigil.sources.git import dirty_contents

        try:
            store = self.snapshots
            known = store.known(str(blob) for blob in git["blobs"].values())
            store.keep(dirty_contents(git, skip=known), seen=known)
        except (VigilError, OSError, sqlite3.Error) as exc:
            logging.getLogger("vigil.snapshots").warning(
                "red state not kept", extra={"error": str(exc)}
            )

    def subscriptions(
        self, enricher: Enricher | None = None, attention: AttentionService | None = None
    ) -> list[Subscription]:
        """The durable consumers, in the order they are started (the enricher only when the
        caller built one: it needs the provider chain, which is built asynchronously; the
        notifier and the deliverer only with the attention service that holds their state)."""
        from vigil.app.control import requests_handler
        from vigil.handlers.raiser import Raiser

        handlers: dict[str, Any] = {
            "triage": self.triage.handle,
            "learner": self.learner.handle,
            "raiser": Raiser(self.log).handle,
            "control.requests": requests_handler(self.control),
        }
        if enricher is not None:
            handlers["enricher"] = enricher.handle
        if attention is not None:
            handlers["notifier"] = attention.decide
            handlers["deliverer"] = attention.deliver
        return [
            Subscription(name, patterns, handlers[name])
            for name, patterns in CONSUMERS
            if name in handlers
        ]

    def enricher(self, chain: FallbackChain) -> Enricher:
        from vigil.handlers.enricher import Enricher

        return Enricher(
            chain=chain,
            receipts=self.receipts,
            clock=self.clock,
            deadline_s=self.settings.enrich_deadline_s,
        )

    def workspace(self, project_dir: Path) -> Workspace:
        """What the reasoning tools may read: the stores, git in ``project_dir``, the logs."""
        from vigil.events.doorbell import is_listening
        from vigil.reasoning.workspace import StoreWorkspace
        from vigil.sources.git import git_diff, git_log

        return StoreWorkspace(
            log=self.log,
            knowledge=self.knowledge,
            history=self.history,
            git_log=lambda limit: git_log(project_dir, limit),
            git_diff=lambda rev, path: git_diff(project_dir, rev, path),
            project_dir=project_dir,
            log_dir=self.settings.log_dir,
            daemon_running=lambda: is_listening(self.settings.home),
        )

    async def build_chain(self, workspace: Workspace, *, step: str = "ask") -> FallbackChain:
        """The configured (or discovered) providers for ``step``, each behind its stored
        breaker."""
        from vigil.app.reasoning import build_chain
        from vigil.reasoning.usage import UsageStore

        return await build_chain(
            self.settings, self.breakers, UsageStore(self.db, self.clock), workspace, step=step
        )

    def breaker_snapshot(self) -> list[dict[str, Any]]:
        """Every stored circuit breaker's state (shared by all processes on the machine)."""
        try:
            return self.breakers.store.snapshot(self.clock.now().timestamp())  # type: ignore[union-attr]
        except StorageError:
            return []  # a read-only home that never stored a breaker

    def ensure_schema(self) -> None:
        """Apply every namespace's migrations (the daemon does this at start)."""
        from vigil.guard.proposals import ProposalStore

        _ = self.history, self.knowledge, self.receipts, self.log_state
        ProposalStore(self.db)  # the table only: a bad [control] config must not stop a run

    # -- publishing from this process ------------------------------------------------------------

    def event(self, event_type: str, data: dict[str, Any], **kwargs: Any) -> Event:
        kwargs.setdefault("source", "vigil.cli")
        return new_event(event_type, data, clock=self.clock, **kwargs)

    def publish(self, events: Iterable[Event]) -> list[Event]:
        """Store events in one transaction and wake the daemon if it runs."""
        stored = self.log.append(events)
        if stored:
            ring(self.settings.home)
        return stored

    # -- vigil run -------------------------------------------------------------------------

    def run(self, argv: Sequence[str], *, cwd: str | None = None) -> RunReport:
        """Run a command with live output, record it, and diagnose or learn inline.

        Nothing holds the command's start (``build.run.started`` carries no git facts), and after
        it ends git gets at most ``git_wait_s`` (on a worker thread, behind the git breaker):
        what git cannot tell in time is left out, and the diagnosis says why.
        """
        from vigil.app.guards import GitStateJob
        from vigil.sources.command import command_line, run_command

        directory = cwd or os.getcwd()
        command = command_line(argv)
        base = {"command": command, "argv": list(argv), "cwd": directory}
        started = self.event(catalog.BUILD_RUN_STARTED, {**base, "git": None}, subject=command)
        try:
            self.ensure_schema()
            self.publish([started])
        except StorageError as exc:
            # Vigil's own trouble must never stop the user's command from running.
            result = run_command(argv, cwd=directory, tail_bytes=self.settings.output_tail_bytes)
            return RunReport(result, started, None, (), not_recorded=str(exc))
        _prewarm()
        result = run_command(argv, cwd=directory, tail_bytes=self.settings.output_tail_bytes)
        job = GitStateJob(
            self.git_breaker,
            directory,
            timeout=self.settings.git_timeout_s,
            wait_s=self.settings.git_wait_s,
        )
        git_after = job.result()
        passed = result.exit_code == 0
        data: dict[str, Any] = {
            **base,
            "exit_code": result.exit_code,
            "duration_ms": round(result.duration_ms, 3),
            "output_tail": result.output_tail,
            "output_bytes": result.output_bytes,
            "truncated": result.truncated,
            "interrupted": result.interrupted,
            "git": git_after,
        }
        if job.note:
            data["git_note"] = job.note
        finished = self.event(
            catalog.BUILD_RUN_PASSED if passed else catalog.BUILD_RUN_FAILED,
            data,
            subject=command,
            cause=started,
        )
        diagnosis = None
        triaged: Event | None = None
        learned: list[Event] = []
        if passed:
            from vigil.handlers import learner

            (finished,) = self.publish([finished])
            learned = self.handle_inline(learner.CONSUMER, self.learner.handle, finished)
        else:
            finished, diagnosis, triaged = self.publish_diagnosed(finished)
        return RunReport(result, finished, diagnosis, tuple(learned), triaged=triaged)

    def handle_inline(self, consumer: str, handler: Handler, event: Event) -> list[Event]:
        """Run a consumer's handler here and now, exactly once across processes."""
        from vigil.events.bus import run_handler

        outputs = run_handler(self.log, consumer, handler, event, advance=False)
        if outputs:
            ring(self.settings.home)
        return outputs or []

    def publish_diagnosed(self, failed: Event) -> tuple[Event, Diagnosis | None, Event | None]:
        """Diagnose a failure here, then store it, its ``triage.completed`` and the triage
        consumer's done-marker in one transaction: the daemon never sees it undiagnosed, so it
        never triages it a second time."""
        from vigil.handlers import triage

        try:
            diagnosis = self.triage.diagnose_event(failed, before_seq=self.log.last_seq() + 1)
        except Exception:  # noqa: BLE001 - a triage bug must not lose the run: store it alone
            (stored,) = self.publish([failed])
            return stored, None, None
        completed = self.triage.completed_event(failed, diagnosis)
        stored, triaged = self.log.append_handled(
            [failed, completed],
            triage.CONSUMER,
            failed.id,
            apply=lambda: self.triage.record_receipt(failed, diagnosis),
        )
        ring(self.settings.home)
        self.keep_red_state(stored)
        return stored, diagnosis, triaged
