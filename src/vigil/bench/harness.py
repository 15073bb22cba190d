"""What every section shares: a scratch directory, sizes, progress lines, checks and its result.

A section is a module with ``run(ctx: Context) -> Result``. It works only under ``ctx.root`` (a
temporary directory the runner deletes afterwards) and gives subprocesses ``ctx.env(home)``, whose
``VIGIL_HOME`` points there, so a benchmark never reads or writes a real Vigil home.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

Op = Literal["<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Check:
    """One target: ``figure op target`` (``p99_ms < 2``); a missing value fails."""

    figure: str
    value: float | None
    op: Op
    target: float

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        value, target = self.value, self.target
        if self.op == "<":
            return value < target
        if self.op == "<=":
            return value <= target
        if self.op == ">":
            return value > target
        return value >= target

    def describe(self) -> str:
        return f"{self.figure} {self.op} {self.target:g}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "value": self.value,
            "op": self.op,
            "target": self.target,
            "pass": self.passed,
        }


@dataclass(slots=True)
class Result:
    """A section's findings: Vigil's figures, the same-run baseline, ratios and checks."""

    figures: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    ratio: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pass": self.passed,
            "target": "; ".join(check.describe() for check in self.checks),
            "checks": [check.to_dict() for check in self.checks],
            "figures": self.figures,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class Context:
    """One section's run: where to write, how big to go, where to say what is happening."""

    root: Path
    quick: bool
    python: Path = field(default_factory=lambda: Path(sys.executable))
    stream: TextIO = field(default_factory=lambda: sys.stderr)

    def size(self, full: int, quick: int) -> int:
        """``quick`` in a smoke run, ``full`` otherwise."""
        return quick if self.quick else full

    def say(self, message: str) -> None:
        """A progress line on stderr (stdout carries only the report)."""
        print(f"bench: {message}", file=self.stream, flush=True)

    def directory(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def vigil_script(self) -> Path:
        """The ``vigil`` console script installed beside this interpreter."""
        return self.python.parent / "vigil"

    def env(self, home: Path) -> dict[str, str]:
        """The environment for a subprocess: this one, minus ``VIGIL_*``, with ``home``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        env["VIGIL_HOME"] = str(home)
        return env


@contextmanager
def vigil_home(home: Path) -> Iterator[None]:
    """Point ``VIGIL_HOME`` at ``home`` inside this process for the block, then restore it."""
    before = os.environ.get("VIGIL_HOME")
    os.environ["VIGIL_HOME"] = str(home)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("VIGIL_HOME", None)
        else:
            os.environ["VIGIL_HOME"] = before
