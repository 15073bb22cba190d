"""systemd integration: ``sd_notify`` over ``NOTIFY_SOCKET``, and the unit ``vigil service``
installs.

The daemon sends ``READY=1`` once every required component runs, ``WATCHDOG=1`` at half the
``WatchdogSec`` interval while its own heartbeats say it is healthy (and stops sending when they
show a stuck component, so systemd restarts it), ``STATUS=...`` lines, and ``STOPPING=1`` on the
way out. Implemented directly on a unix datagram socket: no dependency.
"""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path


class Notifier:
    """Sends ``sd_notify`` messages; does nothing when systemd did not ask for them."""

    def __init__(self, socket_path: str | None) -> None:
        self.socket_path = socket_path
        self.sent: int = 0

    @property
    def enabled(self) -> bool:
        return bool(self.socket_path)

    def notify(self, *lines: str) -> bool:
        """Send ``KEY=VALUE`` lines; ``True`` if delivered."""
        if not self.socket_path:
            return False
        address: str | bytes = self.socket_path
        if self.socket_path.startswith("@"):
            address = b"\0" + self.socket_path[1:].encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto("\n".join(lines).encode(), address)
            except OSError:
                return False
        self.sent += 1
        return True


def unit_text(
    *, command: list[str], home: Path, user: bool, watchdog_s: int = 30, port: int | None = None
) -> str:
    """A systemd unit that runs ``vigil up`` (on ``port`` when given) under supervision."""
    up = ["up"] if port is None else ["up", "--port", str(port)]
    target = "default.target" if user else "multi-user.target"
    return f"""[Unit]
Description=Vigil, the always-on operations companion for developers
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={shlex.join([*command, *up])}
Environment=VIGIL_HOME={home}
Environment=PYTHONUNBUFFERED=1
Restart=always
RestartSec=10
WatchdogSec={watchdog_s}
TimeoutStartSec=60
TimeoutStopSec=30
KillSignal=SIGTERM

[Install]
WantedBy={target}
"""


def vigil_command() -> list[str]:
    """The ``vigil`` console script next to this interpreter (the venv's), else ``python -m``."""
    candidate = Path(sys.executable).with_name("vigil")
    if candidate.exists():
        return [str(candidate.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "vigil"]


def unit_path(*, user: bool, home_dir: Path) -> Path:
    if user:
        return home_dir / ".config" / "systemd" / "user" / "vigil.service"
    return Path("/etc/systemd/system/vigil.service")
