"""File changes: gitignore rules, the debouncer, and real inotify on temporary folders."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.cli.helpers import daemon, events, wait_for
from vigil.errors import ConfigError
from vigil.events.model import Event
from vigil.sources.files import Debouncer, FileWatcher, WatchRoot, parse_roots
from vigil.sources.ignore import IgnoreRules, parse
from vigil.testing import FakeClock


def _rules(root: Path, text: str) -> IgnoreRules:
    (root / ".gitignore").write_text(text)
    return IgnoreRules(root)


def test_gitignore_patterns_follow_gits_rules(tmp_path: Path) -> None:
    """Anchoring, directory-only patterns, globs, ** and negation behave as in git."""
    rules = _rules(
        tmp_path,
        "# comment\n*.log\n!keep.log\n/top.txt\nlogs/\ndocs/**/*.tmp\nsecret?.txt\n\\#hash\n",
    )
    assert rules.ignored("a.log") and rules.ignored("deep/er/b.log")
    assert not rules.ignored("keep.log")
    assert rules.ignored("top.txt") and not rules.ignored("sub/top.txt")
    assert rules.ignored("logs", is_dir=True) and rules.ignored("logs/today.txt")
    assert not rules.ignored("logs")  # a file called logs is not the folder
    assert rules.ignored("docs/x.tmp") and rules.ignored("docs/a/b/x.tmp")
    assert rules.ignored("secret1.txt") and not rules.ignored("secret12.txt")
    assert rules.ignored("#hash")
    assert not rules.ignored("src/main.py")


def test_nested_gitignore_and_build_folders(tmp_path: Path) -> None:
    """A nested .gitignore applies below its folder; build and cache folders are always out;
    a file inside an ignored folder cannot be re-included."""
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / ".gitignore").write_text("*.map\n")
    rules = _rules(tmp_path, "generated/\n!generated/keep.py\n")
    assert rules.ignored("web/app.js.map") and not rules.ignored("app.js.map")
    assert rules.ignored("generated/keep.py")
    for path in (
        "node_modules/x/y.js",
        "__pycache__/m.pyc",
        ".git/index",
        "build/out.o",
        "target/debug/app",
        ".venv/bin/python",
        "dist/pkg.whl",
    ):
        assert rules.ignored(path), path
    assert rules.ignored("build", is_dir=True) and not rules.ignored("build.py")
    assert parse("[abc].py")[0].regex.match("a.py")


def test_debouncer_waits_for_quiet_and_caps_the_wait() -> None:
    """A batch goes out one window after the last change, or max_wait after the first."""
    clock = FakeClock()
    d = Debouncer(window=0.25, max_wait=1.0)
    d.add(["/r/a"], clock.monotonic())
    clock.advance(0.125)
    d.add(["/r/b", "/r/a"], clock.monotonic())
    assert d.take(clock.monotonic()) is None
    clock.advance(0.125)
    assert d.take(clock.monotonic()) is None  # 0.125 s after the last change
    clock.advance(0.125)
    assert d.take(clock.monotonic()) == ["/r/a", "/r/b"]
    assert d.deadline() is None
    for _ in range(9):  # changes that never stop still come out after max_wait
        d.add(["/r/c"], clock.monotonic())
        clock.advance(0.125)
    assert d.take(clock.monotonic()) == ["/r/c"]


def test_watch_paths_config_is_validated() -> None:
    """[[watch.paths]] entries need a path; ignore is a list; unknown keys are errors."""
    assert parse_roots([{"path": "/tmp", "ignore": ["*.log"]}])[0].ignore == ("*.log",)
    for bad in ({}, {"path": ""}, {"path": "/x", "ignore": "*.log"}, {"path": "/x", "when": 1}):
        with pytest.raises(ConfigError):
            parse_roots([bad])


async def test_real_changes_come_out_debounced_without_ignored_ones(tmp_path: Path) -> None:
    """Writes under a watched folder become one file.changed batch; ignored paths never do."""
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "node_modules").mkdir()
    (root / ".gitignore").write_text("*.log\n")
    published: list[Event] = []

    async def publish(events: Sequence[Event]) -> None:
        published.extend(events)

    from vigil.clock import SystemClock

    watcher = FileWatcher([WatchRoot(root.resolve())], publish, SystemClock(), debounce_s=0.05)
    beats = 0

    def beat() -> None:
        nonlocal beats
        beats += 1

    task = asyncio.create_task(watcher(beat))
    try:
        await asyncio.sleep(0.3)  # the observer is up
        (root / "src" / "app.py").write_text("x = 1\n")
        (root / "src" / "util.py").write_text("y = 2\n")
        (root / "debug.log").write_text("noise\n")
        (root / "node_modules" / "dep.js").write_text("z\n")
        while not published:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    paths = {p for event in published for p in event.data["paths"]}
    real = root.resolve()
    assert {str(real / "src" / "app.py"), str(real / "src" / "util.py")} <= paths
    assert not any(p.endswith((".log", "dep.js")) for p in paths)
    assert published[0].type == "file.changed" and published[0].data["root"] == str(real)
    assert beats > 0


def test_daemon_publishes_file_changed_for_configured_paths(home: Path, tmp_path: Path) -> None:
    """[[watch.paths]] in config.toml makes the daemon publish file.changed (data: paths);
    its own home under the folder is never reported."""
    project = tmp_path / "work"
    project.mkdir()
    with (home / "config.toml").open("a") as config:
        config.write(f'\n[watch]\ndebounce_ms = 50\n\n[[watch.paths]]\npath = "{project}"\n')
    with daemon(home):
        wait_for(lambda: any(c["name"] == "files" for c in _components(home)))
        target = project / "main.py"
        target.write_text("print('hi')\n")
        found = wait_for(lambda: events(home, "--type", "file.changed"))
    assert str(target.resolve()) in found[0]["data"]["paths"]
    assert all(str(home) not in p for e in found for p in e["data"]["paths"])


def _components(home: Path) -> list[dict[str, object]]:
    import json

    from tests.cli.helpers import vigil

    done = vigil("health", "--json", home=home)
    report: dict[str, list[dict[str, object]]] = json.loads(done.stdout)
    return report["components"]


def test_missing_watch_path_is_reported_not_fatal(home: Path, tmp_path: Path) -> None:
    """A watched folder that does not exist makes the files component fail (and be retried),
    while the daemon keeps serving."""
    with (home / "config.toml").open("a") as config:
        config.write(f'\n[[watch.paths]]\npath = "{tmp_path / "nowhere"}"\n')
    with daemon(home) as state:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{state['port']}/healthz") as answer:
            assert answer.status == 200
        files = wait_for(
            lambda: [c for c in _components(home) if c["name"] == "files" and c["restarts"]]
        )
    assert "not a folder" in str(files[0]["last_error"])
    assert (home / "vigil.db").exists()
