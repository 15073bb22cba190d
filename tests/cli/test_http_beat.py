"""The daemon's HTTP component beats while it serves, not only when it starts."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from vigil.api.http import create_app
from vigil.app.components import HttpComponent, bind
from vigil.clock import SystemClock
from vigil.reliability.supervisor import Beat


class _CountingBeat(Beat):
    __slots__ = ("count",)

    def __init__(self) -> None:
        super().__init__(SystemClock())
        self.count = 0

    def beat(self) -> None:
        self.count += 1
        super().beat()

    __call__ = beat


def _get(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        body: dict[str, object] = json.loads(response.read())
        return body


async def test_the_http_component_keeps_beating_while_it_serves() -> None:
    """Served by uvicorn on 127.0.0.1, the component beats again and again from uvicorn's own
    loop (``beat_every=0``: at every one-second check) and answers requests meanwhile; it
    stops cleanly when cancelled."""

    def probe() -> dict[str, object]:
        return {"status": "ok"}

    app = create_app(health=probe, ready=probe, status=probe, report=probe)
    component = HttpComponent(app, "127.0.0.1", bind("127.0.0.1", 0), beat_every=0)
    beat = _CountingBeat()
    task = asyncio.create_task(component(beat))
    try:
        async with asyncio.timeout(30):
            while beat.count < 3:
                await asyncio.sleep(0.05)
        assert await asyncio.to_thread(_get, component.port) == {"status": "ok"}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.done()
