"""Vigil's own dependencies behind circuit breakers.

git is the one dependency the spine calls on every run and every triage. When it hangs or keeps
failing, its breaker opens and Vigil carries on without it (no git state, no suspects) instead of
making every command wait for git's timeout. The breaker state is stored, so a ``vigil run`` in
another terminal skips git at once too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vigil.errors import CircuitOpen, SourceError
from vigil.events.catalog import GitState
from vigil.memory.changes import ChangeSet
from vigil.reliability import BreakerPolicy, CircuitBreaker
from vigil.sources.git import GitChangeInspector, git_state

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
