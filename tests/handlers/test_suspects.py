"""Ranking of suspect changes: what the failure names first, then the code under test."""

from __future__ import annotations

from vigil.handlers.triage import rank_suspects
from vigil.memory.changes import ChangedFile, ChangeSet, Commit
from vigil.parsing import Failure


def _changes(*paths: str, committed: bool = False) -> ChangeSet:
    commits = (Commit("abc1234", "Change things", "T", "2026-01-01"),) if committed else ()
    return ChangeSet(
        files=tuple(
            ChangedFile(p, committed, 1, 1, ("abc1234",) if committed else ()) for p in paths
        ),
        commits=commits,
    )


def test_file_named_by_the_failure_ranks_first() -> None:
    """A changed file that the failure points at outranks every other change."""
    failure = Failure(tool="mypy", message="bad", file="src/app/models.py", line=3)
    ranked = rank_suspects(_changes("src/app/views.py", "src/app/models.py"), [failure], "", 10)
    assert ranked[0].path == "src/app/models.py"
    assert "named by the failure" in ranked[0].reasons[0]


def test_code_under_a_failing_test_outranks_docs() -> None:
    """``calc.py`` is suspected before ``README`` when ``test_calc.py`` fails."""
    failure = Failure(
        tool="pytest",
        message="assert -1 == 5",
        file="test_calc.py",
        line=5,
        test="test_calc.py::test_add",
    )
    ranked = rank_suspects(
        _changes("README", "calc.py", committed=True), [failure], "test_calc.py F", 10
    )
    assert [s.path for s in ranked] == ["calc.py", "README"]


def test_go_and_js_test_naming_conventions() -> None:
    """``cart_test.go`` and ``cart.test.ts`` point at ``cart.go`` and ``cart.ts``."""
    go = Failure(tool="go", message="want 3", file="cart_test.go", line=9)
    js = Failure(tool="jest", message="expected", file="src/cart.test.ts", line=4)
    for failure, code in ((go, "cart.go"), (js, "src/cart.ts")):
        ranked = rank_suspects(_changes("zeta.go", code, "alpha.ts"), [failure], "", 10)
        assert ranked[0].path == code


def test_limit_is_respected() -> None:
    """No more suspects than asked for are returned."""
    ranked = rank_suspects(_changes(*[f"f{i}.py" for i in range(30)]), [], "", 5)
    assert len(ranked) == 5
