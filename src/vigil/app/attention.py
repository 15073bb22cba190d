"""Attention, wired: the notifier and the deliverer as daemon consumers, the timer, inline use.

- :class:`AttentionService` (the daemon): rebuilds the notifier's state from the log at start,
  decides every request as the durable consumer ``notifier`` (an async handler, so the state is
  only ever touched on the event loop), delivers as the durable consumer ``deliverer``, and on
  the system clock runs the timer that releases deferrals when they are due (supervised like
  every component). On the event clock there is no timer: the events move the clock.
- :func:`decide_here` decides and delivers one request in this process, exactly once (the
  consumers' done-markers), for ``vigil notify`` when no daemon is running.
- The channels this process can use (:func:`build_channels`); speech comes from
  ``vigil.notify.speech`` when that module is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from vigil.clock import Clock
from vigil.config import Settings, secret
from vigil.config.attention import channel_url
from vigil.errors import NotFoundError
from vigil.events import catalog
from vigil.events.bus import Outcome
from vigil.events.model import Event
from vigil.notify.channels import Channel
from vigil.notify.channels.dashboard import Broadcast, DashboardChannel
from vigil.notify.channels.delivery import Deliverer, is_stale
from vigil.notify.channels.terminal import TerminalChannel
from vigil.notify.engine import OBSERVED, Notifier
from vigil.notify.gates import Policy
from vigil.notify.request import INTERRUPTING

if TYPE_CHECKING:
    from vigil.app import Vigil
    from vigil.events.bus import EventBus
    from vigil.reliability import BreakerRegistry
    from vigil.reliability.supervisor import Beat

log = logging.getLogger("vigil.attention")

NOTIFIER = "notifier"
DELIVERER = "deliverer"
REBUILD_HORIZON = timedelta(days=2)
REBUILD_LIMIT = 50_000
TIMER_IDLE_S = 5.0


def synthesizer() -> Callable[..., Any] | None:
    """``vigil.notify.speech.synthesize`` when the voice module is installed, else ``None``."""
    try:
        module = importlib.import_module("vigil.notify.speech")
    except ImportError:
        return None
    found = getattr(module, "synthesize", None)
    return found if callable(found) else None


def build_channels(
    settings: Settings, broadcast: Broadcast | None = None, synthesize: Any = None
) -> dict[str, Channel]:
    """Every channel ``[attention]`` enables, built for this process."""
    attention = settings.attention
    channels: dict[str, Channel] = {"terminal": TerminalChannel(settings.home)}
    channels["dashboard"] = DashboardChannel(broadcast or Broadcast())
    desktop = attention.channel("desktop")
    if desktop is None or desktop.enabled:
        from vigil.notify.channels.desktop import DesktopChannel

        channels["desktop"] = DesktopChannel(attention.session_bus)
    hook = attention.channel("webhook")
    if hook is not None and hook.enabled:
        from vigil.notify.channels.webhook import WebhookChannel

        token = secret(hook.token_env) if hook.token_env else None
        channels["webhook"] = WebhookChannel(channel_url(hook), format=hook.format, token=token)
    voice = attention.channel("spoken")
    if voice is not None and voice.enabled:
        from vigil.notify.channels.spoken import SpokenChannel

        channels["spoken"] = SpokenChannel(
            settings.home / "notifications",
            synthesize if synthesize is not None else synthesizer(),
            voice=voice.voice,
            sound=attention.sound,
        )
    for channel in attention.channels:
        if not channel.enabled:
            channels.pop(channel.kind, None)
    return channels


def policy_for(settings: Settings, available: frozenset[str] | None = None) -> Policy:
    """The gates' policy; restricted to ``available`` channels when given (the daemon's)."""
    policy = Policy.from_settings(settings.attention)
    return policy if available is None else policy.only(available)


def rebuild(notifier: Notifier, vigil: Vigil, *, upto: int | None) -> int:
    """Give ``notifier`` the state the stored events imply (the newest two days at most)."""
    since = None
    if not notifier.events_clock:
        from vigil.clock import isoformat

        since = isoformat(vigil.clock.now() - REBUILD_HORIZON)
    patterns = (*OBSERVED, *catalog.NOTIFICATION_DECISIONS)
    events = vigil.log.find(patterns=patterns, since=since, limit=REBUILD_LIMIT)
    events.reverse()
    return notifier.rebuild(events, upto=upto)


class AttentionService:
    """The daemon's notifier, deliverer and timer, sharing one state on the event loop."""

    def __init__(
        self,
        vigil: Vigil,
        *,
        broadcast: Broadcast | None = None,
        breakers: BreakerRegistry | None = None,
        synthesize: Any = None,
    ) -> None:
        self.vigil = vigil
        self.settings = vigil.settings
        self.clock: Clock = vigil.clock
        self.broadcast = broadcast or Broadcast()
        self.channels = build_channels(self.settings, self.broadcast, synthesize)
        self.deliverer = Deliverer(self.channels, breakers=breakers, clock=self.clock)
        self.notifier = Notifier(
            policy_for(self.settings, self.deliverer.available()),
            clock=self.settings.attention.clock,
        )
        self.bus: EventBus | None = None
        self._wake = asyncio.Event()

    @property
    def events_clock(self) -> bool:
        return self.notifier.events_clock

    def rebuild(self) -> int:
        """State from the log, up to what the ``notifier`` consumer has finished."""
        return rebuild(self.notifier, self.vigil, upto=self.vigil.log.offset(NOTIFIER))

    async def decide(self, event: Event) -> Outcome:
        """The ``notifier`` consumer's handler."""
        decisions = self.notifier.handle(event, self.clock.now())
        if any(d.type == catalog.NOTIFICATION_DEFERRED for d in decisions):
            self._wake.set()
        return Outcome(events=decisions)

    async def deliver(self, decision: Event) -> Outcome:
        """The ``deliverer`` consumer's handler."""
        request = None
        request_id = str(decision.data.get("request_id") or "")
        with contextlib.suppress(NotFoundError):
            request = await self.vigil.db.call(self.vigil.log.get, request_id)
        only = None
        stale_s = self.settings.attention.stale_s
        if not self.events_clock and is_stale(decision, self.clock.now(), min(stale_s, 600.0)):
            only = frozenset(n for n in self.channels if n not in INTERRUPTING)
        report = await self.deliverer.deliver(decision, request, only=only)
        if report.failed:
            log.warning("notification channels failed", extra={"failed": report.failed})
        return Outcome(events=report.events)

    async def timer(self, beat: Beat) -> None:
        """Release deferrals when they are due (system clock); a supervised component."""
        while True:
            beat()
            now = self.clock.now()
            due = self.notifier.next_due()
            if due is not None and due <= now:
                released = self.notifier.release_due(now)
                if released and self.bus is not None:
                    await self.bus.publish(*released)
                continue
            wait = TIMER_IDLE_S
            if due is not None:
                wait = max(0.01, min(wait, (due - now).total_seconds()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()


def decide_here(vigil: Vigil, request: Event) -> list[Event]:
    """Decide ``request`` and deliver it in this process (no daemon is running); exactly once
    across processes: a daemon started later finds both consumers done with it."""
    service_channels = build_channels(vigil.settings)
    deliverer = Deliverer(service_channels, breakers=vigil.breakers, clock=vigil.clock)
    notifier = Notifier(
        policy_for(vigil.settings, deliverer.available()), clock=vigil.settings.attention.clock
    )
    if request.source != "vigil.cli":
        rebuild(notifier, vigil, upto=vigil.log.offset(NOTIFIER))
    decisions = notifier.handle(request, vigil.clock.now())
    stored = vigil.log.process(NOTIFIER, request, lambda: (decisions, None), advance=False) or []
    for decision in stored:
        if decision.type != catalog.NOTIFICATION_DELIVERED:
            continue

        def work(decision: Event = decision) -> tuple[list[Event], None]:
            report = asyncio.run(deliverer.deliver(decision, request))
            return report.events, None

        vigil.log.process(DELIVERER, decision, work, advance=False)
    return stored
