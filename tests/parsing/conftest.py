"""Shared helpers for the parsing tests: reading committed tool outputs from tests/fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

OUTPUTS = Path(__file__).resolve().parent.parent / "fixtures" / "outputs"


def read_output(case: str) -> tuple[str, str | None]:
    """Return the text of ``outputs/<case>.txt`` and the cwd recorded beside it (if any)."""
    text = (OUTPUTS / f"{case}.txt").read_text(encoding="utf-8")
    cwd_file = OUTPUTS / f"{case}.cwd"
    cwd = cwd_file.read_text(encoding="utf-8").strip() if cwd_file.exists() else None
    return text, cwd


def read_command(case: str) -> str | None:
    """Return the command hint recorded beside ``outputs/<case>.txt`` (``<case>.cmd``), if any."""
    cmd_file = OUTPUTS / f"{case}.cmd"
    return cmd_file.read_text(encoding="utf-8").strip() if cmd_file.exists() else None


@pytest.fixture
def output() -> Callable[[str], tuple[str, str | None]]:
    """Give a test the reader for committed outputs (``case`` is ``"<tool>/<name>"``)."""
    return read_output
