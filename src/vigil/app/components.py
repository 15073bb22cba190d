"""The daemon's own long-lived components, each run by the supervisor.

- ``http``: uvicorn serving the Starlette app on a socket bound up front (so a busy port is one
  clear error before anything starts); stopped gracefully on cancellation. It beats from
  uvicorn's own main loop (every ``beat_every`` seconds, at one-second granularity), so its last
  beat in ``vigil health`` says the server is still serving, not only that it once started.
- ``storage``: a tiny write every few seconds, so a full or read-only disk is noticed (and
  reported in ``/readyz``) even when no event arrives; it never crashes on a storage error, it
  records it and keeps probing, and the daemon recovers by itself once the disk is usable again.
- ``systemd.watchdog``: ``WATCHDOG=1`` at half systemd's interval, only while no supervised
  component has missed its heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

from vigil.clock import Clock, isoformat
from vigil.errors import DaemonError, StorageError
from vigil.reliability.supervisor import Beat
from vigil.storage import Database, apply_migrations, sql

log = logging.getLogger("vigil.daemon")

PROBE_MIGRATIONS = [
    sql(
        """CREATE TABLE daemon_probe (
            one INTEGER PRIMARY KEY CHECK (one = 1),
            pid INTEGER NOT NULL,
            time TEXT NOT NULL
        )"""
    )
]


def bind(host: str, port: int) -> socket.socket:
    """The HTTP listening socket, bound here so a busy port is one clear error."""
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose protocol
    # says TCP, and without it keep-alive requests wait ~40 ms on Nagle and delayed ACKs.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        hint = " (another program uses it; try --port N)" if exc.errno == errno.EADDRINUSE else ""
        raise DaemonError(
            f"cannot listen on http://{host}:{port}: {exc.strerror}{hint}", host=host, port=port
        ) from exc
    listener.setblocking(False)
    return listener


class HttpComponent:
    """Serves the HTTP app; restartable (it binds the same address again after a crash)."""

    def __init__(
        self, app: Any, host: str, listener: socket.socket, *, beat_every: int = 5
    ) -> None:
        self.app = app
        self.host = host
        self.port = int(listener.getsockname()[1])
        self.beat_every = beat_every
        self._listener: socket.socket | None = listener

    async def __call__(self, beat: Beat) -> None:
        import uvicorn

        class QuietServer(uvicorn.Server):
            """uvicorn without its own signal handling: the daemon owns SIGINT/SIGTERM."""

            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        async def serving_beat() -> None:  # called by uvicorn's main loop while it serves
            beat()

        listener = self._listener or bind(self.host, self.port)
        self._listener = None
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="on",  # the app's lifespan runs the MCP server's sessions
            timeout_notify=self.beat_every,
            callback_notify=serving_beat,
        )
        server = QuietServer(config)
        serving = asyncio.create_task(server.serve(sockets=[listener]), name="http:serve")
        try:
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serving, 5.0)
            raise
        finally:
            listener.close()


class StorageProbe:
    """Writes one row every ``interval`` seconds; knows whether storage works right now."""

    def __init__(self, db: Database, clock: Clock, pid: int, interval: float = 5.0) -> None:
        self.db = db
        self.clock = clock
        self.pid = pid
        self.interval = interval
        self.error: str | None = None
        self.since: str | None = None
        self.on_change: Callable[[str | None], None] | None = None
        self._migrated = False

    def _write(self) -> None:
        if not self._migrated:  # here, not at start: a read-only disk must not stop the daemon
            apply_migrations(self.db, "daemon", PROBE_MIGRATIONS)
            self._migrated = True
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO daemon_probe (one, pid, time) VALUES (1, ?, ?)",
                (self.pid, isoformat(self.clock.now())),
            )

    async def check(self) -> str | None:
        """Probe once; returns the error, or ``None`` when storage works."""
        try:
            await self.db.call(self._write)
            error = None
        except StorageError as exc:
            error = str(exc)
        if error != self.error:
            self.error = error
            self.since = isoformat(self.clock.now())
            if error:
                log.error("storage degraded", extra={"error": error})
            else:
                log.info("storage recovered")
            if self.on_change is not None:
                self.on_change(error)
        return error

    async def __call__(self, beat: Beat) -> None:
        while True:
            await self.check()
            beat()
            await asyncio.sleep(self.interval)

    def report(self) -> dict[str, Any]:
        return {"ok": self.error is None, "error": self.error, "since": self.since}


class WatchdogComponent:
    """Pets systemd's watchdog while the daemon's own heartbeats are healthy."""

    def __init__(
        self, notify: Callable[..., bool], interval: float, stuck: Callable[[], list[str]]
    ) -> None:
        self.notify = notify
        self.interval = interval
        self.stuck = stuck
        self.withheld = 0

    async def __call__(self, beat: Beat) -> None:
        while True:
            beat()
            stuck = self.stuck()
            if stuck:
                self.withheld += 1
                log.error("withholding the systemd watchdog", extra={"stuck": stuck})
                self.notify(f"STATUS=stuck: {', '.join(stuck)}")
            else:
                self.notify("WATCHDOG=1")
            await asyncio.sleep(self.interval)
