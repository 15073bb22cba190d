"""The doorbell: how a process that stores an event wakes the daemon and every follower at once.

The daemon binds a unix datagram socket in Linux's abstract namespace, named after the real path
of ``VIGIL_HOME`` (so two homes never meet and nothing is left on disk); a publisher sends one
byte after its transaction commits. The bell carries no data: the log is the truth, the bell only
says "look now". With no daemon listening, ringing it is a no-op and the event waits in the log
for the next start. Binding also acts as the single-instance lock: a second daemon on the same
home cannot bind the name.

A *follower* (``vigil events --follow``: a reader that must see new events the moment they are
stored, with the daemon up or down) binds a datagram socket of its own and registers it as an
empty file named after it under ``run/bells/`` in the home (on other systems the file is the
socket itself). :func:`ring` rings the daemon and then every registered follower; the daemon
rings the followers for the events it stores itself (:func:`ring_followers`). A follower
registers before it reads the log, so an event stored after its read always rings it. A
registration whose follower died (killed, no clean-up) is removed by the next ring that finds
nobody there. With no follower a ring costs one datagram and one ``access`` of a missing directory.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import threading
from pathlib import Path

from vigil.errors import DaemonError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

_LINUX = os.uname().sysname == "Linux"
_BELL_PREFIX = b"\0vigil-bell-"
_places: dict[Path, tuple[str | bytes, str]] = {}
_sock: socket.socket | None = None
_sock_lock = threading.Lock()


def _place(home: Path) -> tuple[str | bytes, str]:
    """``home``'s daemon address and its followers' directory (computed once per process)."""
    place = _places.get(home)
    if place is None:
        import hashlib

        real = home.resolve()
        digest = hashlib.sha256(str(real).encode()).hexdigest()[:24]
        daemon: str | bytes = str(home / "run" / "doorbell.sock")  # elsewhere: a socket file
        if _LINUX:
            daemon = b"\0vigil-doorbell-" + digest.encode()
        place = _places[home] = (daemon, str(home / "run" / "bells"))
    return place


def address(home: Path) -> str | bytes:
    """The doorbell's socket address for ``home``."""
    return _place(home)[0]


def _bell(directory: str, name: str) -> str | bytes:
    """The socket address of the follower registered as ``name``."""
    return _BELL_PREFIX + name.encode() if _LINUX else f"{directory}/{name}"


def _send(sock: socket.socket, target: str | bytes) -> bool:
    """One ring; ``True`` if someone listens there."""
    try:
        sock.sendto(b"!", target)
    except BlockingIOError:
        return True  # its queue is full of rings already: it is awake
    except OSError:
        return False
    return True


def _ring_followers(sock: socket.socket, directory: str) -> None:
    # Every publish comes here: plain strings and os calls, no Path objects, and, with nobody
    # following (the usual case), one access() that fails without raising.
    if not os.access(directory, os.F_OK):
        return  # nobody ever followed this home
    try:
        names = os.listdir(directory)  # noqa: PTH208
    except OSError:
        return
    for name in names:
        if not _send(sock, _bell(directory, name)):
            try:  # its follower is gone without cleaning up
                os.unlink(f"{directory}/{name}")  # noqa: PTH108
            except OSError:
                pass


def _sender() -> socket.socket:
    """This process's one sending socket (a ring is one ``sendto`` per listener, nothing more)."""
    global _sock
    with _sock_lock:
        if _sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            atexit.register(sock.close)
            _sock = sock
        return _sock


def ring(home: Path) -> bool:
    """Wake the daemon of ``home`` and its followers; ``True`` if the daemon is listening."""
    daemon, directory = _place(home)
    sock = _sender()
    listening = _send(sock, daemon)
    _ring_followers(sock, directory)
    return listening


def ring_followers(home: Path) -> None:
    """Wake the followers of ``home`` only (the daemon, for events it stored itself)."""
    _ring_followers(_sender(), _place(home)[1])


def is_listening(home: Path) -> bool:
    """Whether a daemon holds the doorbell of ``home`` (without waking it needlessly)."""
    return _send(_sender(), address(home))


class Follower:
    """A bell of one's own: :meth:`wait` returns when an event was stored in ``home``.

    Use it as a context manager (the registration is removed on exit), and read the log only
    after entering it, so no event can slip between the read and the wait.
    """

    def __init__(self, home: Path) -> None:
        directory = _place(home)[1]
        name = f"{os.getpid()}-{os.urandom(6).hex()}"
        Path(directory).mkdir(parents=True, exist_ok=True)
        self._registration = Path(directory, name)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._sock.bind(_bell(directory, name))
            if _LINUX:
                self._registration.touch(exist_ok=False)
        except OSError:
            self.close()
            raise

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the bell rings (``True``) or ``timeout`` seconds pass (``False``).
        Rings that arrived meanwhile count once."""
        self._sock.settimeout(timeout)
        try:
            self._sock.recv(64)
        except (TimeoutError, BlockingIOError):  # a zero timeout is a non-blocking read
            return False
        self._sock.setblocking(False)
        try:
            while self._sock.recv(64):
                pass
        except BlockingIOError:
            pass
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._registration.unlink()
        self._sock.close()

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
