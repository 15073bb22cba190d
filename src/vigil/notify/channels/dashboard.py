"""The dashboard channel: a live, in-process broadcast of delivered notices.

The daemon holds one :class:`Broadcast`; the HTTP API (Server-Sent Events) and the dashboard
subscribe to it. Each subscriber has a bounded queue: a slow one loses its oldest notices,
never holds the others up (the inbox keeps everything anyway).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from vigil.notify.channels import Notice

QUEUE = 256


class Broadcast:
    """Fan-out of notices to whoever listens right now."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[dict[str, Any]]] = []
        self.sent = 0

    def subscribe(self) -> tuple[asyncio.Queue[dict[str, Any]], Callable[[], None]]:
        """A queue of notices (dicts) from now on, and the callable that unsubscribes it."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE)
        self._queues.append(queue)

        def unsubscribe() -> None:
            if queue in self._queues:
                self._queues.remove(queue)

        return queue, unsubscribe

    def publish(self, item: dict[str, Any]) -> None:
        self.sent += 1
        for queue in list(self._queues):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(item)

    @property
    def listeners(self) -> int:
        return len(self._queues)


class DashboardChannel:
    name = "dashboard"

    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast

    def unavailable(self) -> str | None:
        return None

    async def send(self, notice: Notice) -> dict[str, Any] | None:
        self.broadcast.publish(notice.to_dict())
        return None
