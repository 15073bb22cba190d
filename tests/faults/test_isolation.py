"""A component that crashes on every event is isolated while the daemon keeps working."""

from __future__ import annotations

import asyncio
from pathlib import Path

from vigil.app.daemon import Daemon
from vigil.config import load_settings
from vigil.events.model import Event
from vigil.reliability.supervisor import Backoff, Beat, Spec
from vigil.testing import eventually


async def test_crashing_component_is_isolated_and_others_keep_handling(home: Path) -> None:
    """A component that raises on every event it sees is restarted up to its limit, then
    isolated and reported (event and notification), while triage keeps handling failures."""
    settings = load_settings({"port": 0})
    daemon = Daemon(settings)
    seen: asyncio.Queue[Event] = asyncio.Queue()
    daemon.bus.subscribe(["work.item.arrived"], seen.put_nowait)

    async def fragile(beat: Beat) -> None:
        while True:
            beat()
            event = await seen.get()
            raise RuntimeError(f"cannot cope with {event.id}")

    daemon.supervisor.add(
        Spec("fragile", fragile, max_restarts=3, window=60, backoff=Backoff(0.001, cap=0.01))
    )
    running = asyncio.create_task(daemon.run())
    try:
        await eventually(lambda: daemon.ready()["ready"])
        for _ in range(6):
            await daemon.bus.publish(daemon.bus.event("work.item.arrived", {}))
            await asyncio.sleep(0.05)
        await eventually(lambda: daemon.supervisor.status("fragile") == "isolated")
        failure = daemon.bus.event(
            "build.run.failed",
            {"command": "make", "exit_code": 2, "output_tail": "error: it broke\n"},
            subject="make",
        )
        (stored,) = await daemon.bus.publish(failure)
        log = daemon.vigil.log
        await eventually(lambda: log.find(patterns=["triage.completed"], causation_id=stored.id))
        isolated = log.find(patterns=["component.process.isolated"])
        told = log.find(patterns=["notification.requested"])
        restarted = log.find(patterns=["component.process.restarted"])
        readiness = daemon.ready()
    finally:
        daemon.request_stop()
        await running
    assert [e.subject for e in isolated] == ["fragile"]
    assert told and "fragile" in told[0].data["title"]
    assert len(restarted) == 3
    assert readiness["ready"] is False
    assert "component fragile is not running" in readiness["reasons"]
