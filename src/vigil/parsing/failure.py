"""The parsed shape of build failures: one ``Failure`` per root cause, one ``ParseResult`` a run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Failure:
    """One failure a tool reported: where it is, what it says, and a stable fingerprint."""

    tool: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    test: str | None = None
    error_type: str | None = None
    fingerprint: str = ""

    def to_dict(self) -> dict[str, object]:
        """Return the failure as a plain dict with a fixed set of keys, ready for JSON."""
        return {
            "tool": self.tool,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "test": self.test,
            "error_type": self.error_type,
            "message": self.message,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Everything ``parse_output`` found in one run's output."""

    failures: tuple[Failure, ...]
    tools: tuple[str, ...]
    fingerprint: str
