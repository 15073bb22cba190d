"""Wiring of what the daemon hears with: the HTTP API and webhooks, file watchers, probes,
chores, and CI triage. The daemon asks :class:`Hearing` for routes, consumers and components;
the CLI builds chores with :func:`vigil.app.chores.open_chores` (no web stack).

Concrete choices made here: the GitHub log reader goes behind the stored ``github`` breaker
(:data:`GITHUB_POLICY`), each probe behind ``probe:<name>``; secrets come from the environment
through :func:`vigil.config.secret`, never from a file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vigil.api.auth import Authenticator, RemoteGuard
from vigil.api.context import ApiContext
from vigil.api.tokens import TokenStore
from vigil.app import Subscription, Vigil
from vigil.app.chores import open_chores
from vigil.config import secret
from vigil.errors import StorageError
from vigil.events import catalog
from vigil.events.bus import EventBus
from vigil.events.intake import Intake
from vigil.events.ledger import Ledger
from vigil.events.model import Event
from vigil.handlers import ci_triage
from vigil.handlers.chores import parse_chores
from vigil.reliability import BreakerPolicy
from vigil.reliability.supervisor import Spec
from vigil.sources.alertmanager import AlertStates
from vigil.sources.files import FileWatcher, parse_roots
from vigil.sources.github_api import GitHubLogs, GitHubUnavailable, LogUnavailable
from vigil.sources.probe import ProbeRunner, ProbeStates, parse_probes

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from vigil.reliability.metrics import Metrics

log = logging.getLogger("vigil.daemon")

GITHUB_POLICY = BreakerPolicy(
    failures=3,
    counted=(GitHubUnavailable,),
    ignored=(LogUnavailable,),
    open_base=30.0,
    open_max=600.0,
)
STAGE_SOURCES = 2  # stopped after HTTP (3), before the bus (1)
CHORE_POLL_S = 60.0


class Hearing:
    """Built on the database thread (it migrates its tables); everything issue 8 adds."""

    def __init__(self, vigil: Vigil, bus: EventBus, metrics: Metrics | None = None) -> None:
        settings = vigil.settings
        db, clock = vigil.db, vigil.clock
        self.vigil = vigil
        self.bus = bus
        self.settings = settings
        # Config first: a bad table stops the start with one clear line.
        self.roots = parse_roots(settings.watch_paths)
        self.probe_specs = parse_probes(settings.probes)
        self.chores_enabled, _ = parse_chores(settings.chores)
        self.tokens = TokenStore(db, clock)
        self.intake = Intake(bus, capacity=max(1, settings.api_queue))
        key = secret(settings.github_secret_env)
        self.api = ApiContext(
            bus=bus,
            intake=self.intake,
            auth=Authenticator(self.tokens, db),
            ledger=Ledger(db, clock),
            alerts=AlertStates(db, clock),
            clock=clock,
            github_secret=key.encode() if key else None,
            max_body=settings.api_max_body_bytes,
            count=metrics.count if metrics is not None else _no_count,
        )
        token = secret(settings.github_token_env)
        self.github = GitHubLogs(token, settings.github_api_url) if token else None
        self.chores = open_chores(vigil) if self.chores_enabled else None
        states = ProbeStates(db)
        stored = states.load()
        self.probes = [
            ProbeRunner(
                spec,
                vigil.breakers.get(f"probe:{spec.name}", spec.policy()),
                self._publish,
                clock,
                states,
                self._save,
                stored.get(spec.name),
            )
            for spec in self.probe_specs
        ]

    # -- what the daemon asks for -----------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        from vigil.api import ingest, schema, webhook

        return [*webhook.routes(self.api), *ingest.routes(self.api), *schema.routes()]

    def wrap(self, app: Any) -> Any:
        """The app, behind the token for every request when bound beyond loopback."""
        return RemoteGuard(app, self.api.auth) if self.settings.allow_remote else app

    def subscriptions(self) -> list[Subscription]:
        read_log = None
        if self.github is not None:
            github = self.github
            breaker = self.vigil.breakers.get("github", GITHUB_POLICY)

            async def read_log(data: Mapping[str, Any]) -> str | None:
                return await breaker.acall(github.read, data)

        handler = ci_triage.CiTriage(self.vigil.triage, self.vigil.db, read_log)
        handle: Any = handler.handle  # async: the bus runs it on the event loop
        return [Subscription(ci_triage.CONSUMER, (catalog.CI_RUN_FAILED,), handle)]

    def components(self) -> list[Spec]:
        specs = []
        if self.roots:
            watcher = FileWatcher(
                self.roots,
                self._publish,
                self.vigil.clock,
                debounce_s=self.settings.watch_debounce_ms / 1000,
                home=self.settings.home,
            )
            specs.append(
                Spec("files", watcher, heartbeat=60.0, required=False, stage=STAGE_SOURCES)
            )
        for runner in self.probes:
            spec = runner.spec
            beat = max(60.0, spec.interval_s + spec.timeout_s + 30.0)
            specs.append(
                Spec(
                    f"probe.{spec.name}",
                    runner,
                    heartbeat=beat,
                    required=False,
                    stage=STAGE_SOURCES,
                )
            )
        if self.chores is not None:
            specs.append(
                Spec("chores", self._chores, heartbeat=None, required=False, stage=STAGE_SOURCES)
            )
        return specs

    def report(self) -> dict[str, Any]:
        """For ``vigil health``: probes, the intake and the chores' scheduler."""
        return {
            "probes": [runner.report() for runner in self.probes],
            "intake": {
                "waiting": self.intake.waiting,
                "capacity": self.intake.capacity,
                "rejected": self.intake.rejected,
                "written": self.intake.written,
            },
            "watching": [str(root.path) for root in self.roots],
        }

    def stopping(self) -> None:
        """The daemon is about to stop: end open event streams so HTTP can close at once."""
        self.api.shutdown()

    async def close(self) -> None:
        await self.intake.close()
        if self.github is not None:
            await self.github.close()

    # -- helpers ----------------------------------------------------------------------------

    async def _publish(self, events: Sequence[Event]) -> None:
        await self.bus.publish(*events)

    async def _save(self, write: Callable[[], None]) -> None:
        await self.vigil.db.call(write)

    async def _chores(self, beat: Callable[[], None]) -> None:
        chores = self.chores
        if chores is None:
            return
        clock = self.vigil.clock
        while True:
            beat()
            try:
                for name in await self.vigil.db.call(chores.due):
                    ok, result, events = await asyncio.to_thread(chores.run, name)
                    log.info("chore ran", extra={"chore": name, "ok": ok, "result": result})
                    await self.bus.publish(*events)
                    beat()
            except StorageError as exc:  # the storage probe reports it; try at the next tick
                log.error("chores skipped: storage unavailable", extra={"error": str(exc)})
            upcoming = chores.next_due()
            wait = CHORE_POLL_S
            if upcoming is not None:
                wait = min(wait, max(1.0, (upcoming - clock.now()).total_seconds()))
            await clock.sleep(wait)


def _no_count(name: str, n: int = 1, **labels: str) -> None:
    pass
