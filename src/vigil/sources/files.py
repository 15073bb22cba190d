"""File changes under configured folders -> ``file.changed`` (the only module that uses watchdog).

Config::

    [watch]
    debounce_ms = 200          # quiet time after the last change before a batch goes out

    [[watch.paths]]
    path = "~/src/project"     # watched recursively (inotify on Linux)
    ignore = ["*.log"]         # optional, gitignore syntax, on top of the .gitignore files

A change that :class:`~vigil.sources.ignore.IgnoreRules` ignores (``.gitignore``, build-output
and cache folders, ``.git``, Vigil's own home) never leaves the watchdog thread. The rest are
collected per root by a :class:`Debouncer`: a batch goes out ``debounce_ms`` after the last
change, or ``MAX_WAIT_FACTOR`` windows after the first one when changes never stop (a long
build writing files). One ``file.changed`` per root and batch, data: ``paths`` (absolute,
sorted, at most :data:`MAX_PATHS`), ``root``, ``count`` (all changed paths), ``truncated``.

Time: the debouncer is pure and takes ``now`` from the injected clock; the component waits on
the event loop for the next deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.clock import Clock
from vigil.errors import ConfigError, SourceError
from vigil.events import catalog
from vigil.events.model import Event, new_event
from vigil.sources.ignore import IgnoreRules, parse

log = logging.getLogger("vigil.files")

SOURCE = "vigil.files"
MAX_PATHS = 1000
MAX_WAIT_FACTOR = 10
Publish = Callable[[Sequence[Event]], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class WatchRoot:
    path: Path
    ignore: tuple[str, ...] = ()


def parse_roots(tables: Sequence[Mapping[str, Any]]) -> list[WatchRoot]:
    """``[[watch.paths]]`` tables, validated (a bad one is a :class:`ConfigError`)."""
    roots: list[WatchRoot] = []
    for index, table in enumerate(tables):
        where = f"config.toml [[watch.paths]] #{index + 1}"
        unknown = sorted(set(table) - {"path", "ignore"})
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
        path = table.get("path")
        if not isinstance(path, str) or not path.strip():
            raise ConfigError(f"{where}: path must be a non-empty string")
        ignore = table.get("ignore", [])
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            raise ConfigError(f"{where}: ignore must be a list of patterns")
        roots.append(WatchRoot(Path(path).expanduser().resolve(), tuple(ignore)))
    return roots


@dataclass(slots=True)
class Debouncer:
    """Collects changed paths; a batch is due ``window`` after the last change, or ``max_wait``
    after the first one. Pure: every call takes ``now`` (monotonic seconds)."""

    window: float
    max_wait: float
    paths: set[str] = field(default_factory=set)
    first: float | None = None
    last: float | None = None

    def add(self, paths: Sequence[str], now: float) -> None:
        if not paths:
            return
        self.paths.update(paths)
        if self.first is None:
            self.first = now
        self.last = now

    def deadline(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        return min(self.last + self.window, self.first + self.max_wait)

    def take(self, now: float) -> list[str] | None:
        """The batch, sorted, if it is due at ``now`` (and start a new one); else ``None``."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return None
        batch = sorted(self.paths)
        self.paths = set()
        self.first = self.last = None
        return batch


class _Filter:
    """Turns watchdog events into kept paths, on the watchdog thread."""

    def __init__(self, root: WatchRoot, home: Path | None) -> None:
        self.root = root
        self.prefix = str(root.path).rstrip(os.sep) + os.sep
        self.home = None if home is None else str(home.resolve()).rstrip(os.sep) + os.sep
        self.rules = IgnoreRules(root.path)
        self.extra = parse("\n".join(root.ignore))

    def keep(self, path: str, is_dir: bool) -> bool:
        if self.home is not None and (path + os.sep).startswith(self.home):
            return False
        if not path.startswith(self.prefix):
            return False
        relative = path[len(self.prefix) :].replace(os.sep, "/")
        if relative.endswith(".gitignore") and not is_dir:
            self.rules.reload()
        if self.rules.ignored(relative, is_dir):
            return False
        return not IgnoreRules._ignored_with(self.extra, relative, is_dir)


class FileWatcher:
    """A supervised component: watches ``roots`` and publishes ``file.changed`` batches."""

    def __init__(
        self,
        roots: Sequence[WatchRoot],
        publish: Publish,
        clock: Clock,
        *,
        debounce_s: float = 0.2,
        home: Path | None = None,
    ) -> None:
        self.roots = list(roots)
        self.publish = publish
        self.clock = clock
        self.debounce_s = debounce_s
        self.home = home
        self.published = 0

    async def __call__(self, beat: Callable[[], None]) -> None:
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer

        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        debouncers = {
            root.path: Debouncer(self.debounce_s, self.debounce_s * MAX_WAIT_FACTOR)
            for root in self.roots
        }

        def arrived(root: Path, paths: list[str]) -> None:  # on the loop
            debouncers[root].add(paths, self.clock.monotonic())
            wake.set()

        class Handler(FileSystemEventHandler):
            def __init__(self, root: WatchRoot, keep: _Filter) -> None:
                self.root = root
                self.filter = keep

            def on_any_event(self, event: FileSystemEvent) -> None:
                candidates = [event.src_path]
                if event.dest_path:
                    candidates.append(event.dest_path)
                kept = [
                    os.fsdecode(p)
                    for p in candidates
                    if self.filter.keep(os.fsdecode(p), event.is_directory)
                ]
                if kept:
                    loop.call_soon_threadsafe(arrived, self.root.path, kept)

        kinds: list[type[FileSystemEvent]] = [
            FileCreatedEvent,
            FileModifiedEvent,
            FileDeletedEvent,
            FileMovedEvent,
            FileClosedEvent,
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
        ]
        observer = Observer()
        try:
            for root in self.roots:
                if not root.path.is_dir():
                    raise SourceError(f"watch path {root.path} is not a folder", path=str(root))
                keep = await asyncio.to_thread(_Filter, root, self.home)
                observer.schedule(
                    Handler(root, keep), str(root.path), recursive=True, event_filter=kinds
                )
            observer.start()
        except OSError as exc:
            raise SourceError(f"cannot watch files: {exc}") from exc
        try:
            while True:
                beat()
                wake.clear()
                await self._flush(debouncers)
                deadlines = [d for d in (b.deadline() for b in debouncers.values()) if d]
                timeout = 30.0
                if deadlines:
                    timeout = max(0.0, min(deadlines) - self.clock.monotonic())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await wake.wait()
        finally:
            observer.stop()
            await asyncio.to_thread(observer.join, 5.0)

    async def _flush(self, debouncers: Mapping[Path, Debouncer]) -> None:
        now = self.clock.monotonic()
        events = []
        for root, debouncer in debouncers.items():
            batch = debouncer.take(now)
            if batch:
                events.append(changed(root, batch, self.clock))
        if events:
            await self.publish(events)
            self.published += len(events)


def changed(root: Path, paths: Sequence[str], clock: Clock) -> Event:
    """The ``file.changed`` event for one batch under ``root``."""
    data = {
        "paths": list(paths[:MAX_PATHS]),
        "root": str(root),
        "count": len(paths),
        "truncated": len(paths) > MAX_PATHS,
    }
    return new_event(catalog.FILE_CHANGED, data, clock=clock, source=SOURCE, subject=str(root))


def observe(folder: Path, callback: Callable[[str], None]) -> Callable[[], None]:
    """A bare watchdog observer on ``folder`` calling ``callback(path)`` for every write that
    is closed, on watchdog's thread; returns the function that stops it. The benchmark's
    baseline: inotify and watchdog with nothing of Vigil."""
    from watchdog.events import FileClosedEvent, FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            callback(os.fsdecode(event.src_path))

    observer = Observer()
    observer.schedule(Handler(), str(folder), recursive=True, event_filter=[FileClosedEvent])
    observer.start()

    def stop() -> None:
        observer.stop()
        observer.join(5)

    return stop
