"""What changed in a project between two recorded states of its working tree.

The types live here, below both the sources that compute them (``vigil.sources.git``) and the
handlers that use them (triage suspects, learned fixes); ``app.py`` wires the implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    subject: str
    author: str
    time: str

    def to_dict(self) -> dict[str, str]:
        return {"sha": self.sha, "subject": self.subject, "author": self.author, "time": self.time}


@dataclass(frozen=True, slots=True)
class ChangedFile:
    path: str
    committed: bool  # changed by a commit in between (else only in the working tree)
    added: int | None = None  # lines, from the diff stat when known
    removed: int | None = None
    commits: tuple[str, ...] = ()  # short shas of the commits that touched it
    before: str | None = None  # blob id at each state ("-": absent), when known
    after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "committed": self.committed,
            "added": self.added,
            "removed": self.removed,
            "commits": list(self.commits),
        }


@dataclass(frozen=True, slots=True)
class ChangeSet:
    files: tuple[ChangedFile, ...] = ()
    commits: tuple[Commit, ...] = ()
    complete: bool = True  # False when git could not tell everything (history rewritten, no git)
    notes: tuple[str, ...] = field(default=())

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]


class ChangeInspector(Protocol):
    """Tells what changed between two git states (``GitState`` payloads) of one repository."""

    def changes(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> ChangeSet: ...

    def contents(self, root: str, wanted: Mapping[str, str | None]) -> dict[str, bytes]:
        """Content by blob id (``wanted``: blob id -> a working-tree path that may hold it, or
        ``None``); blobs it cannot find are left out."""
        ...
