"""Shared fixtures: an isolated VIGIL_HOME per test, and leak checks for tasks and threads."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
RULES_ONLY = '[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n'
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own VIGIL_HOME so runs never meet."""
    home = tmp_path / "vigil-home"
    monkeypatch.setenv("VIGIL_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("VIGIL_") and name != "VIGIL_HOME":
            monkeypatch.delenv(name)
    # Tests never reach a model outside this machine, whatever keys the environment holds, and
    # answer with the deterministic rules provider unless a test configures another chain
    # (the embedded model has its own tests; loading it for every failing run would be slow).
    monkeypatch.setenv("VIGIL_LOCAL_ONLY", "1")
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(RULES_ONLY)
    yield home


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    return _isolated_home


@pytest.fixture
def settings(home: Path) -> Settings:
    return load_settings()


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves threads running behind it."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while True:
        leaked = [
            t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leaked, f"test leaked threads: {[t.name for t in leaked]}"


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh loop and fail them if they leave tasks behind."""
    if not asyncio.iscoroutinefunction(pyfuncitem.obj):
        return None
    funcargs = pyfuncitem.funcargs
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: funcargs[name] for name in names}

    async def runner() -> None:
        async with asyncio.timeout(60):
            await pyfuncitem.obj(**kwargs)
        current = asyncio.current_task()
        leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        for task in leftover:
            task.cancel()
        if leftover:
            raise AssertionError(f"test leaked tasks: {[t.get_name() for t in leftover]}")

    asyncio.run(runner())
    return True


def vigil_cmd() -> list[str]:
    """The installed CLI, run as a real subprocess."""
    return [sys.executable, "-m", "vigil"]


# -- the approval audit: 0 actions executed without an approval, across the whole suite ---------
_AUDIT: dict[str, object] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Audit every state database the suite made (vigil.guard.audit): an execution without a
    person's approval fails the run."""
    from vigil.guard.audit import audit

    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    base = factory.getbasetemp()
    executions, without, ids = 0, 0, []
    for path in base.rglob("*.db"):
        found = audit(path)
        executions += found["executions"]
        without += found["without_approval"]
        ids += found["ids"]
    _AUDIT.update(executions=executions, without_approval=without, ids=ids)
    if without:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: object) -> None:
    if _AUDIT:
        line = (
            f"vigil approval audit: {_AUDIT['executions']} actions executed,"
            f" {_AUDIT['without_approval']} without an approval"
        )
        if _AUDIT["ids"]:
            line += f" {_AUDIT['ids']}"
        terminalreporter.write_line(line)  # type: ignore[attr-defined]
