"""How the rules word an enrichment, over real diagnoses: real tools' output through the triage,
with real knowledge entries and change sets around it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vigil.app import Vigil
from vigil.config import load_settings
from vigil.handlers import enricher
from vigil.handlers.triage import rank_suspects
from vigil.memory.changes import ChangedFile, ChangeSet
from vigil.reasoning.providers.rules import RulesProvider
from vigil.reasoning.wording import causes
from vigil.testing import FakeClock

OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "outputs"
FIX_TITLE = "Fixed by changing the code"  # what a learned fix's title looks like


@dataclass(frozen=True)
class Case:
    """A recorded output, what surrounds it, and the kind of cause the rules must name."""

    fixture: str
    kind: str
    fingerprint_fix: bool = False  # a fix linked to this failure's fingerprint
    similar_fix: bool = False  # a fix that only matches by text
    changed: tuple[ChangedFile, ...] = ()
    flaky: bool = False
    subject: str | None = None  # what both sentences must name (default: the cause's)
    says: tuple[str, ...] = field(default=())  # more words the explanation must hold


CASES = [
    Case("pytest/assertion", "assertion"),
    Case(
        "pytest/assertion",
        "suspect",
        changed=(ChangedFile("calc.py", committed=False, added=1, removed=1),),
        subject="calc.py",
        says=("failing test is named after it",),
    ),
    Case("pytest/assertion", "known_fix", fingerprint_fix=True),
    Case("pytest/assertion", "assertion", similar_fix=True),
    Case(
        "pytest/assertion",
        "suspect",
        similar_fix=True,
        changed=(ChangedFile("calc.py", committed=True, commits=("1a2b3c4d5e",)),),
        subject="calc.py",
    ),
    Case(
        "pytest/assertion",
        "assertion",
        changed=(
            ChangedFile("README.md", committed=False),
            ChangedFile("docs/guide.md", committed=False),
        ),
        says=("2 files changed since the last green run, none linked",),
    ),
    Case("clang/compile", "undefined_name", says=("missing_offset",)),
    Case(
        "clang/compile",
        "suspect",
        changed=(
            ChangedFile("parse.c", committed=True, commits=("9f8e7d6c5b",)),
            ChangedFile("README.md", committed=True, commits=("9f8e7d6c5b",)),
        ),
        subject="parse.c",
        says=("the failure is in that file",),
    ),
    Case("gcc/link", "link", says=("checksum",)),
    Case("mypy/arg_type", "type"),
    Case("pytest/collection", "missing_module", says=("yamlish_does_not_exist",)),
    Case("python/traceback", "bad_json"),
    Case("node/uncaught", "missing_file"),
    Case("npm/missing_script", "missing_script", says=("package.json",)),
    Case("go/test_panic", "missing_value"),
    Case("make/only_make", "build_step"),
    Case("ruff/concise", "unused"),
    Case("cargo/test_panic", "assertion"),
    Case("tsc/ts2322", "flaky", flaky=True, says=("flaky",)),
    Case("tsc/ts2322", "known_fix", fingerprint_fix=True, flaky=True),
    Case("npm/failing_script", "unknown"),
]


@pytest.fixture(scope="module")
def vigil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vigil]:
    built = Vigil(load_settings({"home": tmp_path_factory.mktemp("home")}), clock=FakeClock())
    yield built
    built.close()


def diagnose(vigil: Vigil, case: Case) -> dict[str, Any]:
    """The triage's diagnosis of the recorded output, with the case's surroundings."""
    path = OUTPUTS / f"{case.fixture}.txt"
    cwd_file = path.with_suffix(".cwd")
    cwd = cwd_file.read_text().strip() if cwd_file.exists() else None
    output = path.read_text(errors="replace")
    first = vigil.triage.diagnose(output, cwd=cwd)
    fingerprint = first.fingerprint
    failure = first.failures[0] if first.failures else None
    added = []
    if case.fingerprint_fix:
        added.append(
            vigil.knowledge.add(
                "fix",
                FIX_TITLE,
                "What changed between red and green.",
                fingerprints=[fingerprint],
                status="candidate",
                confidence=0.5,
                provenance={"files": ["calc.py"]},
            )
        )
    if case.similar_fix and failure is not None:
        added.append(
            vigil.knowledge.add(
                "fix",
                "Make the test pass",
                f"{failure.error_type} {failure.message} {failure.test}",
            )
        )
    try:
        diagnosis = vigil.triage.diagnose(output, cwd=cwd).to_dict()
    finally:
        for entry in added:
            vigil.knowledge.remove(entry.id)
    if case.changed:
        failures = vigil.triage.diagnose(output, cwd=cwd).failures
        found = rank_suspects(ChangeSet(files=case.changed), failures, output, 10)
        diagnosis["suspects"] = [s.to_dict() for s in found]
    if case.flaky:
        diagnosis["history"] = {"seen": 3, "flaky": True}
    return diagnosis


def _words(text: str) -> list[str]:
    return re.findall(r"\S+", text.lower())


def restates(explanation: str, message: str) -> bool:
    """Whether ``explanation`` repeats the error line: all of it, or any four words in a row."""
    words = _words(message)
    said = " ".join(_words(explanation))
    if len(message.strip()) >= 12 and message.strip().lower() in explanation.lower():
        return True
    return any(" ".join(words[i : i + 4]) in said for i in range(len(words) - 3))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.fixture}:{c.kind}")
async def test_rules_word_the_cause_and_a_next_step_that_follows(vigil: Vigil, case: Case) -> None:
    """The rules' enrichment of a real diagnosis names the likeliest cause without restating
    the error line or presenting a fix's title as the problem, never calls a text-matched fix
    the cause, and gives a next step about the same thing as the cause."""
    diagnosis = diagnose(vigil, case)
    rules = RulesProvider(vigil.workspace(Path.cwd()))
    response = await rules.complete(enricher.request_for(diagnosis, time.monotonic() + 3))
    words = enricher.validate(response)
    explanation, next_step = words["explanation"], words["next_step"]
    cause = causes(enricher.compact(diagnosis))[0]
    assert (cause.explanation, cause.next_step) == (explanation, next_step)
    assert cause.kind == case.kind, (explanation, diagnosis["known_fixes"])
    for failure in diagnosis["failures"]:
        assert not restates(explanation, failure["message"]), explanation
    for fix in diagnosis["known_fixes"]:
        assert fix["title"] not in explanation, explanation
        if fix["match"] != "fingerprint":
            assert fix["id"] not in explanation + next_step, explanation
    if case.similar_fix:
        assert any(f["match"] == "text" for f in diagnosis["known_fixes"])
    subject = case.subject or cause.subject
    if case.kind != "unknown":
        assert subject and subject in explanation and subject in next_step, (explanation, next_step)
    for said in case.says:
        assert said in explanation, explanation
    assert len(explanation) <= 300 and len(next_step) <= 200


def test_suspect_next_step_shows_the_change_with_git() -> None:
    """The next step for a suspect is the git command that shows its change: the commit for a
    committed change, the working tree for one not yet committed, near the failing line."""
    base = {"failures": [{"tool": "gcc", "file": "parse.c", "line": 6, "message": "boom"}]}
    committed = {
        "path": "parse.c",
        "reasons": ["named by the failure at parse.c:6", "changed in 9f8e7d6c5b Speed up"],
        "committed": True,
        "commits": ["9f8e7d6c5b"],
    }
    (first, *_) = causes({**base, "suspects": [committed]})
    assert (
        first.next_step
        == "Review that change to parse.c around line 6: `git show 9f8e7d6c5b -- parse.c`."
    )
    loose = {**committed, "committed": False, "commits": []}
    (first, *_) = causes({**base, "suspects": [loose]})
    assert (
        first.next_step.endswith("`git diff HEAD -- parse.c`.")
        and "not committed" in first.explanation
    )


def test_the_restatement_check_catches_an_echoed_error_line() -> None:
    """The check used above flags what the old wording did: the error line said again."""
    message = "assert 0 == 2"
    assert restates(
        "pytest reports AssertionError: assert 0 == 2 at tests/test_calc.py:6.", message
    )
    long = "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert restates("The JSON was bad: property name enclosed in double quotes.", long)
    assert not restates("Likely cause: the data the code parses is not valid JSON.", long)
