"""``vigil up``: the foreground daemon.

Start: open the stores and migrate, take the doorbell (which also refuses a second daemon on the
same home), start the durable consumers (they replay whatever arrived while the daemon was down),
serve HTTP on 127.0.0.1, write ``run/daemon.json``. Stop, on SIGINT or SIGTERM, in stages, each
with a timeout: stop HTTP, stop listening to the doorbell, let consumers finish the event in hand,
record the stop, close the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

from vigil import __version__
from vigil.app import Vigil
from vigil.app.logs import configure as configure_logging
from vigil.clock import isoformat
from vigil.config import Settings
from vigil.errors import DaemonError
from vigil.events import catalog
from vigil.events.bus import EventBus
from vigil.events.doorbell import Doorbell

log = logging.getLogger("vigil.daemon")

STAGE_TIMEOUT_S = 5.0


class Daemon:
    """One running daemon; ``run`` returns when it has stopped."""

    def __init__(
        self, settings: Settings, on_ready: Callable[[Daemon], None] | None = None
    ) -> None:
        self.settings = settings
        self._on_ready = on_ready
        self.vigil = Vigil.open(settings)
        self.bus = EventBus(self.vigil.log, source="vigil.daemon")
        self.started_at = time.time()
        self.port: int | None = None
        self._stop = asyncio.Event()
        self._ready = False

    # -- probes ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "pid": os.getpid()}

    def ready(self) -> dict[str, Any]:
        return {"ready": self._ready, "consumers": sorted(self.bus.consumers)}

    def status(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "pid": os.getpid(),
            "home": str(self.settings.home),
            "port": self.port,
            "uptime_s": round(time.time() - self.started_at, 3),
            "consumers": {
                name: {"handled": c.handled, "failed": c.failed}
                for name, c in self.bus.consumers.items()
            },
        }

    # -- lifecycle -------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(RuntimeError):
                loop.add_signal_handler(signum, self.request_stop)
        await self.vigil.db.call(self.vigil.ensure_schema)
        doorbell = Doorbell(self.settings.home, self.bus.wake)
        await doorbell.open()
        server = None
        try:
            for sub in self.vigil.subscriptions():
                self.bus.add_consumer(sub.name, sub.patterns, sub.handler)
            await self.bus.start()
            server = await self._serve_http()
            self._write_state()
            await self.bus.publish(
                self.bus.event(
                    catalog.DAEMON_STARTED,
                    {"pid": os.getpid(), "port": self.port, "version": __version__},
                )
            )
            self._ready = True
            log.info("daemon ready", extra={"port": self.port})
            if self._on_ready is not None:
                self._on_ready(self)
            await self._stop.wait()
        finally:
            self._ready = False
            await self._shutdown(doorbell, server)

    async def _serve_http(self) -> Any:
        import uvicorn

        class _QuietServer(uvicorn.Server):
            """uvicorn without its own signal handling: the daemon owns SIGINT/SIGTERM."""

            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        from vigil.api.http import create_app

        app = create_app(health=self.health, ready=self.ready, status=self.status)
        listener = _bind(self.settings.host, self.settings.port)
        config = uvicorn.Config(
            app,
            host=self.settings.host,
            port=self.settings.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = _QuietServer(config)
        self.port = int(listener.getsockname()[1])
        self._serving = asyncio.create_task(server.serve(sockets=[listener]), name="http")
        while not server.started:
            if self._serving.done():
                listener.close()
                raise DaemonError(f"cannot serve HTTP on {self.settings.host}:{self.port}")
            await asyncio.sleep(0.01)
        return server

    def _write_state(self) -> None:
        run_dir = self.settings.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "port": self.port,
            "host": self.settings.host,
            "version": __version__,
            "started": isoformat(self.vigil.clock.now()),
        }
        tmp = run_dir / "daemon.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(run_dir / "daemon.json")

    async def _shutdown(self, doorbell: Doorbell, server: Any) -> None:
        if server is not None:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._serving, STAGE_TIMEOUT_S)
        doorbell.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.bus.stop(), STAGE_TIMEOUT_S)
        with contextlib.suppress(Exception):
            self.vigil.publish(
                [
                    self.vigil.event(
                        catalog.DAEMON_STOPPED, {"pid": os.getpid()}, source="vigil.daemon"
                    )
                ]
            )
        (self.settings.run_dir / "daemon.json").unlink(missing_ok=True)
        await self.vigil.db.call(lambda: None)
        self.vigil.close()
        log.info("daemon stopped")


def _bind(host: str, port: int) -> socket.socket:
    """The HTTP listening socket, bound here so a busy port is one clear error."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
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


def serve(settings: Settings, on_ready: Callable[[Daemon], None] | None = None) -> None:
    """Run the daemon in the foreground until SIGINT/SIGTERM."""
    configure_logging(settings.log_dir, settings.log_level)
    daemon = Daemon(settings, on_ready)
    asyncio.run(daemon.run())
