"""Vigil's own dependencies behind circuit breakers.

git is the one dependency the spine calls on every run and every triage. When it hangs or keeps
failing, its breaker opens and Vigil carries on without it (no git state, no suspects) instead of
making every command wait for git's timeout. The breaker state is stored, so a ``vigil run`` in
another terminal skips git at once too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vigil.errors import CircuitOpen, SourceError
from vigil.events.catalog import GitState
from vigil.memory.changes import ChangeSet
from vigil.reliability import BreakerPolicy, CircuitBreaker
from vigil.sources.git import GitChangeInspector, GitRunner, git_state

log = logging.getLogger("vigil.git")

GIT_POLICY = BreakerPolicy(failures=3, counted=(SourceError,), open_base=30.0, open_max=600.0)


class GuardedChanges:
    """A :class:`ChangeInspector` that never lets a sick git block triage."""

    def __init__(self, breaker: CircuitBreaker, inner: GitChangeInspector | None = None) -> None:
        self.breaker = breaker
        self.inner = inner or GitChangeInspector()

    def changes(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> ChangeSet:
        try:
            result: ChangeSet = self.breaker.call(self.inner.changes, before, after)
        except (CircuitOpen, SourceError) as exc:
            return ChangeSet(complete=False, notes=(f"changes unknown: {exc}",))
        return result

    def contents(self, root: str, wanted: Mapping[str, str | None]) -> dict[str, bytes]:
        try:
            found: dict[str, bytes] = self.breaker.call(self.inner.contents, root, wanted)
        except (CircuitOpen, SourceError):
            return {}  # the diff of a learned fix is then unknown, never wrong
        return found


def guarded_git_state(breaker: CircuitBreaker, cwd: str | Path, timeout: float) -> GitState | None:
    """``git_state`` behind the breaker: ``None`` (no git facts) when git is unavailable."""
    try:
        state: GitState | None = breaker.call(git_state, cwd, timeout)
    except (CircuitOpen, SourceError) as exc:
        log.warning("git state skipped", extra={"error": str(exc)})
        return None
    return state


class GitStateJob:
    """``git_state`` on a worker thread, so gathering git facts never holds a user's command.

    Started when a command ends (beside the rest of the bookkeeping); :meth:`result` waits at most
    ``wait_s`` for it, then kills the git processes and counts a failure on the git breaker. The
    breaker is consulted first: while it is open no git process is started at all. ``note`` says
    why the facts are missing, for the diagnosis.
    """

    def __init__(
        self, breaker: CircuitBreaker, cwd: str | Path, *, timeout: float, wait_s: float
    ) -> None:
        self.breaker = breaker
        self.wait_s = wait_s
        self.note: str | None = None
        self._value: GitState | None = None
        self._error: BaseException | None = None
        self._runner = GitRunner()
        self._thread: threading.Thread | None = None
        if breaker.retry_after() > 0:
            self.note = (
                f"no git facts: git's circuit breaker is open after repeated failures "
                f"(next try in {breaker.retry_after():.0f} s)"
            )
            return
        self._thread = threading.Thread(
            target=self._work, args=(cwd, timeout), name="vigil-git-state", daemon=True
        )
        self._thread.start()

    def _work(self, cwd: str | Path, timeout: float) -> None:
        try:
            self._value = git_state(cwd, timeout, self._runner)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._error = exc

    def _fetch(self) -> GitState | None:
        thread = self._thread
        if thread is None:
            return None
        thread.join(self.wait_s)
        if thread.is_alive():
            self._runner.cancel()
            thread.join(1.0)
            raise SourceError(f"git did not answer within {self.wait_s:g} s")
        if self._error is not None:
            raise self._error
        return self._value

    def result(self) -> GitState | None:
        """The state, or ``None`` (with :attr:`note` saying why) when git is unavailable."""
        if self._thread is None:
            return None
        try:
            state: GitState | None = self.breaker.call(self._fetch)
        except CircuitOpen as exc:
            self._runner.cancel()
            self.note = f"no git facts: git's circuit breaker is open ({exc})"
            return None
        except SourceError as exc:
            log.warning("git state skipped", extra={"error": str(exc)})
            self.note = f"no git facts: {exc}"
            return None
        return state
