"""The doorbell: how a CLI process wakes the daemon the moment it stores an event.

The daemon binds a unix datagram socket in Linux's abstract namespace, named after the real path
of ``VIGIL_HOME`` (so two homes never meet and nothing is left on disk); a publisher sends one
byte after its transaction commits. The bell carries no data: the log is the truth, the bell only
says "look now". With no daemon listening, ringing is a no-op and the event waits in the log for
the next start. Binding also acts as the single-instance lock: a second daemon on the same home
cannot bind the name.
"""

from __future__ import annotations

import hashlib
import platform
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

from vigil.errors import DaemonError


def address(home: Path) -> str | bytes:
    """The doorbell's socket address for ``home``."""
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:24]
    if platform.system() == "Linux":
        return b"\0vigil-doorbell-" + digest.encode()
    return str(home / "run" / "doorbell.sock")  # other systems: a socket file under the home


def ring(home: Path) -> bool:
    """Wake the daemon of ``home``; ``True`` if one is listening."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.sendto(b"!", address(home))
    except BlockingIOError:
        return True  # its queue is full of rings already: it is awake
    except OSError:
        return False
    finally:
        sock.close()
    return True


def is_listening(home: Path) -> bool:
    """Whether a daemon holds the doorbell of ``home`` (without waking it needlessly)."""
    return ring(home)


class Doorbell:
    """The listening side, owned by the daemon."""

    def __init__(self, home: Path, on_ring: Callable[[], None]) -> None:
        self.home = home
        self._on_ring = on_ring
        self._transport: asyncio.BaseTransport | None = None

    async def open(self) -> None:
        import asyncio  # only the daemon listens; publishers (the CLI) never import asyncio

        class _Protocol(asyncio.DatagramProtocol):
            def __init__(self, on_ring: Callable[[], None]) -> None:
                self._on_ring = on_ring

            def datagram_received(self, data: bytes, addr: object) -> None:
                self._on_ring()

        addr = address(self.home)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            if isinstance(addr, str):
                Path(addr).parent.mkdir(parents=True, exist_ok=True)
                Path(addr).unlink(missing_ok=True)
            sock.bind(addr)
        except OSError as exc:
            sock.close()
            raise DaemonError(
                f"another Vigil daemon is already running for {self.home}", home=str(self.home)
            ) from exc
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self._on_ring), sock=sock
        )
        self._transport = transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
