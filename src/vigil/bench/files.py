"""files: a file written under a watched folder -> ``file.changed`` on the bus.

The daemon's own parts, in this process: a :class:`~vigil.sources.files.FileWatcher` (watchdog,
inotify) on a temporary folder with a 100 ms debounce, publishing on an :class:`EventBus` over a
temporary SQLite log, and a durable consumer of ``file.changed``. One file is written at a time
(spaced past the debounce window); a sample is the time from the write's ``close`` to the event
being on the bus (stored, consumers woken), minus the debounce window: what Vigil adds after
waiting for quiet (``after_debounce_ms``, the target). For information, the same to the durable
consumer's handler entry (``after_debounce_to_handler_ms``: two more hops to the database
thread).

Baseline, same run: a bare watchdog observer on another temporary folder, from the write's
``close`` to its callback (inotify delivery and watchdog's thread, nothing of Vigil).

For information: ``hook_ms``, how long Vigil's ``post-commit`` hook keeps git waiting (the hook
script run by itself in a real repository, with its background publish), against an empty
``#!/bin/sh`` hook, and ``hook_to_event_ms``, the hook's start to the event stored.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result
from vigil.clock import SystemClock
from vigil.events.bus import EventBus
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event
from vigil.sources.files import FileWatcher, WatchRoot, observe
from vigil.storage import Database

DEBOUNCE_S = 0.1
TARGET_P99_MS = 50.0
TARGET_HOOK_P99_MS = 50.0
WAIT_S = 10.0


async def _vigil_samples(ctx: Context, n: int) -> tuple[list[int], list[int]]:
    folder = ctx.directory("watched").resolve()
    db = Database(ctx.root / "files.db")
    log = SqliteEventLog(db, SystemClock())
    bus = EventBus(log, source="vigil.bench")
    loop = asyncio.get_running_loop()
    arrived: dict[str, int] = {}
    published: dict[str, int] = {}
    waiting: dict[str, asyncio.Future[None]] = {}

    def handle(event: Event) -> None:
        now = time.perf_counter_ns()
        for path in event.data["paths"]:
            arrived.setdefault(path, now)
            future = waiting.get(path)
            if future is not None:
                loop.call_soon_threadsafe(_release, future)

    bus.add_consumer("bench-files", ["file.changed"], handle)
    await bus.start()

    async def publish(events: Any) -> None:
        await bus.publish(*events)
        now = time.perf_counter_ns()
        for event in events:
            for path in event.data["paths"]:
                published.setdefault(path, now)

    watcher = FileWatcher([WatchRoot(folder)], publish, SystemClock(), debounce_s=DEBOUNCE_S)
    task = asyncio.create_task(watcher(lambda: None))
    samples: list[int] = []
    on_bus: list[int] = []
    try:
        await asyncio.sleep(0.5)
        for i in range(n + 3):
            path = str(folder / f"f{i}.txt")
            waiting[path] = loop.create_future()
            with open(path, "w") as handle_:
                handle_.write("x\n")
            written = time.perf_counter_ns()
            await asyncio.wait_for(waiting[path], WAIT_S)
            if i >= 3:  # warm-up
                samples.append(arrived[path] - written - int(DEBOUNCE_S * 1e9))
                on_bus.append(published[path] - written - int(DEBOUNCE_S * 1e9))
            await asyncio.sleep(DEBOUNCE_S / 2)
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await bus.stop()
        db.close()
    return on_bus, samples


def _release(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _raw_samples(ctx: Context, n: int) -> list[int]:
    folder = ctx.directory("raw").resolve()
    seen: dict[str, int] = {}
    ready = threading.Condition()

    def arrived(path: str) -> None:
        now = time.perf_counter_ns()
        with ready:
            seen.setdefault(path, now)
            ready.notify_all()

    stop = observe(folder, arrived)
    samples: list[int] = []
    try:
        time.sleep(0.3)
        for i in range(n + 3):
            path = str(folder / f"f{i}.txt")
            with open(path, "w") as handle:
                handle.write("x\n")
            written = time.perf_counter_ns()
            with ready:
                ready.wait_for(lambda p=path: p in seen, WAIT_S)  # type: ignore[misc]
            if path not in seen:
                raise RuntimeError("watchdog never reported a write")
            if i >= 3:
                samples.append(seen[path] - written)
            time.sleep(DEBOUNCE_S / 2)
    finally:
        stop()
    return samples


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


def _hook_samples(ctx: Context, n: int) -> dict[str, list[int]]:
    """Vigil's post-commit hook run by itself, against an empty hook; and hook -> stored."""
    from vigil.sources.git_hooks import install, interpreter

    home = ctx.directory("hooks-home")
    repo = ctx.directory("repo")
    env = {
        **ctx.env(home),
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env, timeout=60)
    (repo / "a.txt").write_text("a\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True, env=env, timeout=60)
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "-m", "one"], check=True, env=env, timeout=60
    )
    install(repo, interpreter(), home)
    hook = repo / ".git" / "hooks" / "post-commit"
    empty = ctx.root / "empty-hook"
    empty.write_text("#!/bin/sh\nexit 0\n")
    empty.chmod(0o755)
    vigil_ns: list[int] = []
    empty_ns: list[int] = []
    stored_ns: list[int] = []
    db_path = home / "vigil.db"
    for i in range(n + 2):
        before = _commit_events(db_path)
        started = time.perf_counter_ns()
        subprocess.run([str(hook)], cwd=repo, env=env, check=True, timeout=60)
        ran = time.perf_counter_ns()
        deadline = time.monotonic() + WAIT_S * 3
        while _commit_events(db_path) <= before and time.monotonic() < deadline:
            time.sleep(0.005)
        stored = time.perf_counter_ns()
        began = time.perf_counter_ns()
        subprocess.run([str(empty)], cwd=repo, env=env, check=True, timeout=60)
        bare = time.perf_counter_ns()
        if i >= 2:
            vigil_ns.append(ran - started)
            stored_ns.append(stored - started)
            empty_ns.append(bare - began)
    return {"vigil": vigil_ns, "empty": empty_ns, "stored": stored_ns}


def _commit_events(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path, timeout=5) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM events WHERE type = 'git.commit.created'"
            ).fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


def run(ctx: Context) -> Result:
    n = ctx.size(200, 20)
    ctx.say(f"files: {n} writes -> file.changed, debounce {DEBOUNCE_S * 1000:g} ms")
    on_bus, handled = asyncio.run(_vigil_samples(ctx, n))
    ctx.say(f"files: baseline, {n} writes -> a bare watchdog callback")
    raw = _raw_samples(ctx, n)
    hooks_n = ctx.size(30, 5)
    ctx.say(f"files: {hooks_n} runs of the post-commit hook")
    hooks = _hook_samples(ctx, hooks_n)
    after = stats.latency(on_bus)
    bare = stats.latency(raw)
    hook = stats.latency(hooks["vigil"])
    result = Result()
    result.figures["after_debounce_ms"] = after
    result.figures["after_debounce_to_handler_ms"] = stats.latency(handled)
    result.figures["debounce_ms"] = DEBOUNCE_S * 1000
    result.figures["hook_ms"] = hook
    result.figures["hook_to_event_ms"] = stats.latency(hooks["stored"])
    result.baseline["watchdog_callback_ms"] = bare
    result.baseline["empty_hook_ms"] = stats.latency(hooks["empty"])
    result.ratio["p99_vs_watchdog"] = stats.ratio(after["p99"], bare["p99"])
    result.ratio["hook_p50_vs_empty"] = stats.ratio(
        hook["p50"], result.baseline["empty_hook_ms"]["p50"]
    )
    result.checks += [
        Check("after_debounce_p99_ms", after["p99"], "<", TARGET_P99_MS),
        Check("hook_p99_ms", hook["p99"], "<", TARGET_HOOK_P99_MS),
    ]
    return result
