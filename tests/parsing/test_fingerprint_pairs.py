"""Fingerprints of real outputs: the same bug moved keeps its hash, a different bug changes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from vigil.parsing import parse_output

OUTPUTS = Path(__file__).resolve().parent.parent / "fixtures" / "outputs"

Reader = Callable[[str], tuple[str, str | None]]


def _cases(suffix: str) -> list[str]:
    found = sorted(OUTPUTS.glob(f"*/*{suffix}.txt"))
    return [str(path.relative_to(OUTPUTS))[: -len(f"{suffix}.txt")] for path in found]


MOVED = _cases(".moved")
OTHER = _cases(".other")
COLOR = _cases(".color")


def test_there_are_pairs_for_every_tool_with_real_fixtures() -> None:
    """The moved/other pairs cover the tools whose outputs are committed, so the checks bite."""
    moved_tools = {case.split("/")[0] for case in MOVED}
    assert {"pytest", "unittest", "python", "mypy", "ruff", "flake8", "tsc", "eslint", "jest",
            "node", "cargo", "rustc", "gcc", "clang", "make", "javac", "maven", "gradle",
            "go"} <= moved_tools  # fmt: skip
    assert len(OTHER) >= 20


@pytest.mark.parametrize("case", MOVED)
def test_moved_bug_keeps_its_fingerprint(case: str, output: Reader) -> None:
    """The same bug lower in the file, checked out elsewhere, gets the same fingerprints."""
    text, cwd = output(case)
    moved_text, moved_cwd = output(f"{case}.moved")
    original = parse_output(text, cwd=cwd)
    moved = parse_output(moved_text, cwd=moved_cwd)
    assert original.failures, "the original output must have a failure"
    assert moved.failures[0].fingerprint == original.failures[0].fingerprint
    assert moved.fingerprint == original.fingerprint
    if original.failures[0].line is not None:
        assert moved.failures[0].line != original.failures[0].line


@pytest.mark.parametrize("case", MOVED)
def test_fingerprint_does_not_depend_on_knowing_cwd(case: str, output: Reader) -> None:
    """Parsing with or without the run's cwd (relative vs absolute paths) gives one fingerprint."""
    text, cwd = output(case)
    assert parse_output(text, cwd=cwd).fingerprint == parse_output(text).fingerprint


@pytest.mark.parametrize("case", OTHER)
def test_different_bug_in_the_same_place_changes_the_fingerprint(case: str, output: Reader) -> None:
    """A different bug on the same line gets a different failure and run fingerprint."""
    text, cwd = output(case)
    other_text, other_cwd = output(f"{case}.other")
    original = parse_output(text, cwd=cwd)
    other = parse_output(other_text, cwd=other_cwd)
    assert other.failures[0].fingerprint != original.failures[0].fingerprint
    assert other.fingerprint != original.fingerprint


@pytest.mark.parametrize("case", COLOR)
def test_coloured_output_parses_like_plain_output(case: str, output: Reader) -> None:
    """Forcing colour (ANSI escapes) changes neither the failures' fields nor the fingerprint."""
    text, cwd = output(case)
    color_text, color_cwd = output(f"{case}.color")
    assert "\x1b[" in color_text
    plain = parse_output(text, cwd=cwd)
    colored = parse_output(color_text, cwd=color_cwd)
    assert colored.fingerprint == plain.fingerprint
    assert [f.to_dict() for f in colored.failures] == [f.to_dict() for f in plain.failures]


def test_two_tests_failing_the_same_way_are_two_causes(output: Reader) -> None:
    """Identical assertions in two different tests fingerprint differently."""
    text, cwd = output("pytest/twins")
    first, second = parse_output(text, cwd=cwd).failures
    assert first.message == second.message
    assert first.fingerprint != second.fingerprint


def test_two_lint_codes_in_one_file_are_two_causes(output: Reader) -> None:
    """F401 and F821 reported in the same file get distinct fingerprints."""
    text, cwd = output("ruff/concise.other")
    unused, undefined = parse_output(text, cwd=cwd).failures
    assert unused.file == undefined.file
    assert (unused.error_type, undefined.error_type) == ("F401", "F821")
    assert unused.fingerprint != undefined.fingerprint


def test_pytest_temp_dirs_do_not_change_the_fingerprint(output: Reader) -> None:
    """A message naming /tmp/pytest-of-x/pytest-N/... fingerprints the same in every run."""
    text, cwd = output("pytest/tmp_path")
    moved_text, moved_cwd = output("pytest/tmp_path.moved")
    first = parse_output(text, cwd=cwd).failures[0]
    again = parse_output(moved_text, cwd=moved_cwd).failures[0]
    assert "/pytest-of-" in first.message and first.message != again.message
    assert first.fingerprint == again.fingerprint
