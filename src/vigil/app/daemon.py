"""``vigil up``: the foreground daemon.

Start: open the stores and migrate, take the doorbell (which also refuses a second daemon on the
same home), bind HTTP on 127.0.0.1, then hand every long-lived part to the supervisor: the
durable consumers (they replay whatever arrived while the daemon was down), the live tail, the
HTTP server, the storage probe and, under systemd, the watchdog. Then ``READY=1`` and
``daemon.process.started``.

Stop, on SIGINT or SIGTERM, in stages, each with a timeout: HTTP first (stage 3), then the
consumers and the tail (stage 1: the event in hand finishes its transaction on the database
thread), then the probes (stage 0); then the stop is recorded and the database closed.

Supervisor hooks become events here (the reliability layer stays generic):
``component.process.restarted``, ``component.process.isolated`` and, for isolation, a
``notification.requested`` so a person is told.

Attention (``vigil.app.attention``): the raiser, the notifier and the deliverer are durable
consumers like the others; the notifier's state is rebuilt from the log before they start, and
on the system clock a supervised timer releases deferrals when they are due.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigil import __version__
from vigil.app import Vigil
from vigil.app.attention import AttentionService
from vigil.app.components import HttpComponent, StorageProbe, WatchdogComponent, bind
from vigil.app.hearing import Hearing
from vigil.app.logs import configure as configure_logging
from vigil.app.systemd import Notifier
from vigil.clock import isoformat
from vigil.config import Settings, systemd_env
from vigil.errors import DaemonError, StorageError
from vigil.events import catalog
from vigil.events.bus import EventBus
from vigil.events.doorbell import Doorbell, ring_followers
from vigil.events.model import Event
from vigil.notify.channels.dashboard import Broadcast
from vigil.reasoning.chain import FallbackChain
from vigil.reliability.metrics import Metrics, MetricsUpkeep
from vigil.reliability.resources import ResourceSampler
from vigil.reliability.supervisor import Spec, Supervisor

log = logging.getLogger("vigil.daemon")

BUS_HEARTBEAT_S = 10.0
HTTP_BEAT_S = 5  # uvicorn's main loop beats this often while it serves
LOG_HEARTBEAT_S = 30.0  # a follower beats at least every 5 s while idle
STAGE_HTTP, STAGE_BUS, STAGE_PROBES = 3, 1, 0


class Daemon:
    """One running daemon; ``run`` returns when it has stopped."""

    def __init__(
        self, settings: Settings, on_ready: Callable[[Daemon], None] | None = None
    ) -> None:
        self.settings = settings
        self._on_ready = on_ready
        self.vigil = Vigil.open(settings)
        self.clock = self.vigil.clock
        self.metrics = Metrics(self.clock)
        self.metrics_upkeep = MetricsUpkeep(
            self.metrics, self.vigil.db, self.clock, ResourceSampler(self.clock, settings.home)
        )
        self.bus = EventBus(
            self.vigil.log,
            source="vigil.daemon",
            metrics=self.metrics,
            announce=lambda: ring_followers(settings.home),  # `vigil events --follow` hears it
        )
        self.supervisor = Supervisor(
            self.clock,
            on_restart=self._component_restarted,
            on_isolated=self._component_isolated,
        )
        self.storage = StorageProbe(
            self.vigil.db, self.clock, os.getpid(), interval=settings.storage_probe_s
        )
        socket_path, watchdog_s = systemd_env()
        self.notifier = Notifier(socket_path)
        self.watchdog_s = watchdog_s
        self.started_at = time.time()
        self.port: int | None = None
        self._stop = asyncio.Event()
        self._ready = False
        self._reports: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.chain: FallbackChain | None = None
        self.attention: AttentionService | None = None
        self.notices: Broadcast | None = None  # delivered notices, live (the dashboard's stream)
        self.control: Any = None  # vigil.app.control.ControlComponent, once assembled
        self.vigil.source = "vigil.daemon"  # control's events are the daemon's
        self.vigil.on_stored = self._wake_soon
        self.hearing: Hearing | None = None
        self.log_streams: list[Any] = []
        self.vigil.record_breaker_changes = False  # published right away below instead
        self.vigil.breakers.on_change(self._breaker_changed)
        self.vigil.breakers.on_call(self._dependency_called)

    # -- probes ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``/healthz``: the process is alive and its event loop answers."""
        return {"status": "ok", "version": __version__, "pid": os.getpid()}

    def ready(self) -> dict[str, Any]:
        """``/readyz``: every required component runs and storage accepts writes."""
        down = [
            c["name"]
            for c in self.supervisor.snapshot()
            if c["required"] and c["status"] != "running"
        ]
        reasons = [f"component {name} is not running" for name in down]
        if self.storage.error:
            reasons.append(f"storage degraded: {self.storage.error}")
        ready = self._ready and not reasons
        return {
            "ready": ready,
            "status": "ready" if ready else ("starting" if not self._ready else "degraded"),
            "reasons": reasons,
            "storage": self.storage.report(),
        }

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

    def health_report(self) -> dict[str, Any]:
        """``/api/health`` and ``vigil health``: components, storage, readiness."""
        readiness = self.ready()
        return {
            "daemon": {
                "running": True,
                "pid": os.getpid(),
                "port": self.port,
                "uptime_s": round(time.time() - self.started_at, 3),
                "version": __version__,
            },
            "ready": readiness["ready"],
            "status": readiness["status"],
            "reasons": readiness["reasons"],
            "storage": readiness["storage"],
            "components": self.supervisor.snapshot(),
            "breakers": self.vigil.breaker_snapshot(),
            "systemd": {"notify": self.notifier.enabled, "watchdog_s": self.watchdog_s},
            **(self.hearing.report() if self.hearing is not None else {}),
        }

    # -- hooks -> events -------------------------------------------------------------------

    def _report(self, *events: Event) -> None:
        task = asyncio.get_running_loop().create_task(self._publish_quietly(events))
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _publish_quietly(self, events: tuple[Event, ...]) -> None:
        try:
            await self.bus.publish(*events)
        except StorageError as exc:  # degraded storage: the probe reports it already
            log.error(
                "could not record a report",
                extra={"error": str(exc), "events": [e.type for e in events]},
            )
        except Exception:  # a report must never take the daemon down
            log.exception("could not record a report")

    def _wake_soon(self) -> None:
        """Something was stored (from any thread): the bus looks at once."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.bus.wake)

    def _restart_component(self, name: str) -> str:
        """An approved ``restart_component``, from the executor's thread."""
        if self._loop is None or name not in {c["name"] for c in self.supervisor.snapshot()}:
            raise DaemonError(f"no component named {name!r}")
        reason = "restart requested by an approved proposal"
        future = asyncio.run_coroutine_threadsafe(self._restart(name, reason), self._loop)
        if not future.result(timeout=10):
            raise DaemonError(f"component {name} is not running")
        return f"restarted {name}"

    async def _restart(self, name: str, reason: str) -> bool:
        return self.supervisor.restart(name, reason)

    def _breaker_changed(self, name: str, old: str, new: str, reason: str) -> None:
        """Breaker hooks run on whichever thread made the transition: hop to the loop."""
        event = self.vigil.breaker_event(name, old, new, reason, source="vigil.daemon")
        if event is None or self._loop is None:
            return
        log.warning("breaker changed", extra=dict(event.data))
        self._loop.call_soon_threadsafe(self._report, event)

    def _dependency_called(self, name: str, outcome: str, seconds: float) -> None:
        if outcome == "rejected":
            self.metrics.count("dependency_rejected", dependency=name)
        else:
            self.metrics.observe(
                "dependency_call_seconds", seconds, ok=outcome != "failure", dependency=name
            )

    def _component_restarted(self, name: str, restarts: int, reason: str) -> None:
        self._report(
            self.bus.event(
                catalog.COMPONENT_RESTARTED,
                {"component": name, "restarts": restarts, "error": reason},
                subject=name,
            )
        )

    def _component_isolated(self, name: str, reason: str) -> None:
        """Published here, with its request, rather than through the raiser consumer: the
        component isolated may be the raiser itself. The request comes from the raiser's
        mapping all the same (one place says how Vigil asks)."""
        from vigil.handlers.raiser import requests_for

        isolated = self.bus.event(
            catalog.COMPONENT_ISOLATED, {"component": name, "error": reason}, subject=name
        )
        self._report(isolated, *requests_for(isolated))
        self.notifier.notify(f"STATUS=degraded: {name} isolated")

    # -- lifecycle -------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(RuntimeError):
                loop.add_signal_handler(signum, self.request_stop)
        await self.vigil.db.call(self.vigil.ensure_schema)
        doorbell = Doorbell(self.settings.home, self.bus.wake)
        await doorbell.open()
        started = False
        try:
            listener = bind(self.settings.host, self.settings.port)
            await self._assemble(listener)
            await self.supervisor.start()
            started = True
            await self._wait_until_running()
            self._write_state()
            self._report(
                self.bus.event(
                    catalog.DAEMON_STARTED,
                    {
                        "pid": os.getpid(),
                        "port": self.port,
                        "version": __version__,
                        "read_only": self.vigil.db.read_only,
                    },
                )
            )
            self._ready = True
            self.notifier.notify(
                "READY=1", f"STATUS=ready on port {self.port}", f"MAINPID={os.getpid()}"
            )
            log.info(
                "daemon ready" if self.storage.error is None else "daemon up, degraded",
                extra={"port": self.port, "storage_error": self.storage.error},
            )
            if self._on_ready is not None:
                self._on_ready(self)
            await self._stop.wait()
        finally:
            self._ready = False
            await self._shutdown(doorbell, started)

    async def _assemble(self, listener: Any) -> None:
        from vigil.api.http import create_app
        from vigil.api.prometheus import render_latest

        self.chain = await self.vigil.build_chain(self.vigil.workspace(Path.cwd()), step="enrich")
        self.attention = AttentionService(self.vigil, breakers=self.vigil.breakers)
        self.attention.bus = self.bus
        self.notices = self.attention.broadcast
        rebuilt = await self.vigil.db.call(self.attention.rebuild)
        log.info("attention state rebuilt", extra={"events": rebuilt})
        hearing = self.hearing = await self.vigil.db.call(
            Hearing, self.vigil, self.bus, self.metrics
        )
        subscriptions = self.vigil.subscriptions(self.vigil.enricher(self.chain), self.attention)
        for sub in [*subscriptions, *hearing.subscriptions()]:
            handler: Any = sub.handler
            if not inspect.iscoroutinefunction(handler):
                handler = self.metrics.wrap("handler_seconds", handler, consumer=sub.name)
            self.bus.add_consumer(sub.name, sub.patterns, handler)
        await self.bus.open()
        for name, runner in self.bus.runners(BUS_HEARTBEAT_S / 2).items():
            self.supervisor.add(Spec(name, runner, heartbeat=BUS_HEARTBEAT_S, stage=STAGE_BUS))
        if not self.attention.events_clock:
            self.supervisor.add(
                Spec("attention.timer", self.attention.timer, heartbeat=60.0, stage=STAGE_BUS)
            )
        from vigil.app.control import ControlComponent, build_runner

        actions = build_runner(self.vigil.control, self.clock, self._restart_component)
        self.control = ControlComponent(self.vigil.control, actions, self.bus, self.clock)
        self.supervisor.add(
            Spec("control", self.control, heartbeat=BUS_HEARTBEAT_S, stage=STAGE_BUS)
        )
        from vigil.app.faces import faces

        face_routes, face_lifespan = faces(self.vigil, hearing.api.auth, Path.cwd(), self)
        app = create_app(
            health=self.health,
            ready=self.ready,
            status=self.status,
            report=self.health_report,
            metrics=lambda: render_latest(self.metrics),
            routes=[*hearing.routes(), *face_routes],
            lifespan=face_lifespan,
        )
        http = HttpComponent(
            hearing.wrap(app), self.settings.host, listener, beat_every=HTTP_BEAT_S
        )
        self.port = http.port
        self.supervisor.add(Spec("http", http, heartbeat=3.0 * HTTP_BEAT_S, stage=STAGE_HTTP))
        self._add_log_streams()
        self.supervisor.add(Spec("storage", self.storage, heartbeat=60.0, stage=STAGE_PROBES))
        self.supervisor.add(
            Spec(
                "metrics", self.metrics_upkeep, heartbeat=120.0, required=False, stage=STAGE_PROBES
            )
        )
        for spec in hearing.components():
            self.supervisor.add(spec)
        if self.notifier.enabled and self.watchdog_s:
            watchdog = WatchdogComponent(
                self.notifier.notify, self.watchdog_s / 2, self.supervisor.stuck
            )
            self.supervisor.add(
                Spec("systemd.watchdog", watchdog, required=False, stage=STAGE_PROBES)
            )

    def _add_log_streams(self) -> None:
        """``[[logs.follow]]``: one supervised component per followed log."""
        from vigil.app.logfollow import LogStream, follow_specs

        for spec in follow_specs(self.settings):
            stream = LogStream(
                spec,
                event_log=self.vigil.log,
                state=self.vigil.log_state,
                clock=self.clock,
                wake=self.bus.wake,
            )
            self.log_streams.append(stream)
            self.supervisor.add(
                Spec(
                    f"logs:{spec.label}",
                    stream,
                    heartbeat=LOG_HEARTBEAT_S,
                    required=False,
                    stage=STAGE_BUS,
                )
            )

    async def _wait_until_running(self, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.supervisor.ready() and loop.time() < deadline:
            await asyncio.sleep(0.005)

    def _write_state(self) -> None:
        run_dir = self.settings.run_dir
        state = {
            "pid": os.getpid(),
            "port": self.port,
            "host": self.settings.host,
            "version": __version__,
            "started": isoformat(self.clock.now()),
        }
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            tmp = run_dir / "daemon.json.tmp"
            tmp.write_text(json.dumps(state))
            tmp.replace(run_dir / "daemon.json")
        except OSError as exc:  # degraded disk: keep running; health still answers over HTTP
            log.error("cannot write the daemon state file", extra={"error": str(exc)})

    async def _shutdown(self, doorbell: Doorbell, started: bool) -> None:
        self.notifier.notify("STOPPING=1")
        doorbell.close()
        if self.hearing is not None:
            self.hearing.stopping()
        if started:
            await self.supervisor.stop()
        if self.hearing is not None:
            with contextlib.suppress(Exception):
                await self.hearing.close()  # every accepted request is stored before the bus stops
        await self.bus.stop()
        if self._reports:
            await asyncio.wait(self._reports, timeout=5.0)
        with contextlib.suppress(Exception):
            await self.metrics_upkeep.close()  # the last minutes, after the consumers stopped
        if self.chain is not None:
            from vigil.app.reasoning import close_chain

            with contextlib.suppress(Exception):
                await close_chain(self.chain)
        with contextlib.suppress(Exception):
            self.vigil.publish(
                [
                    self.vigil.event(
                        catalog.DAEMON_STOPPED, {"pid": os.getpid()}, source="vigil.daemon"
                    )
                ]
            )
        with contextlib.suppress(OSError):
            (self.settings.run_dir / "daemon.json").unlink(missing_ok=True)
        self.vigil.close()
        log.info("daemon stopped")


def serve(settings: Settings, on_ready: Callable[[Daemon], None] | None = None) -> None:
    """Run the daemon in the foreground until SIGINT/SIGTERM."""
    configure_logging(
        settings.log_dir,
        settings.log_level,
        max_bytes=settings.log_max_bytes,
        keep=settings.log_keep,
    )
    for warning in settings.warnings:  # a misspelt config key: ignored, but said
        log.warning("config.toml holds something nothing reads", extra={"detail": warning})
    daemon = Daemon(settings, on_ready)
    asyncio.run(daemon.run())
