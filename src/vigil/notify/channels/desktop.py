"""The desktop channel: ``notify-send`` on the person's session bus.

It needs a session bus (``DBUS_SESSION_BUS_ADDRESS``, read by the config) and ``notify-send`` on
``PATH``; without either it is *unavailable* (skipped, with the reason), not failing. A run that
exits non-zero or hangs past the timeout is a :class:`~vigil.errors.ChannelFailed`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from typing import Any

from vigil.errors import ChannelFailed, ChannelUnavailable
from vigil.notify.channels import Notice

TIMEOUT_S = 5.0
_URGENCY = {
    "passive": "low",
    "active": "normal",
    "time-sensitive": "normal",
    "critical": "critical",
}


class DesktopChannel:
    name = "desktop"

    def __init__(self, session_bus: str | None, command: str = "notify-send") -> None:
        self.session_bus = session_bus
        self.command = command

    def unavailable(self) -> str | None:
        if not self.session_bus:
            return "no session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
        if shutil.which(self.command) is None:
            return f"{self.command} is not installed"
        return None

    async def send(self, notice: Notice) -> dict[str, Any] | None:
        why = self.unavailable()
        if why:
            raise ChannelUnavailable(why, channel=self.name)
        env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": str(self.session_bus)}
        argv = [
            self.command,
            "--app-name=Vigil",
            f"--urgency={_URGENCY.get(notice.level, 'normal')}",
            notice.title,
            notice.body or notice.reason,
        ]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise ChannelFailed(f"cannot start {self.command}: {exc}", channel=self.name) from exc
        try:
            async with asyncio.timeout(TIMEOUT_S):
                _, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ChannelFailed(
                f"{self.command} did not finish within {TIMEOUT_S:g} s", channel=self.name
            ) from None
        if proc.returncode != 0:
            line = err.decode(errors="replace").strip().splitlines()
            raise ChannelFailed(
                f"{self.command} exited {proc.returncode}: {line[-1] if line else ''}".strip(),
                channel=self.name,
            )
        return None
