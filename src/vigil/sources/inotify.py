"""A small adapter over Linux inotify (libc through ctypes), readable from asyncio.

The only module that talks to inotify. Above it, followers see :class:`DirectoryWatch`: "something
happened to these names in this directory" as an ``asyncio`` wait, no thread and no polling.
:func:`available` says whether this system has inotify; callers fall back to a slow poll where it
has not (not Linux), and say so.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import SourceError

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

DIRECTORY_EVENTS = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
_HEADER = struct.Struct("iIII")


@dataclass(frozen=True, slots=True)
class Change:
    """One inotify event: which name in the watched directory (``""``: the directory itself)."""

    mask: int
    name: str

    @property
    def overflow(self) -> bool:
        return bool(self.mask & IN_Q_OVERFLOW)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name or "libc.so.6", use_errno=True)
    except OSError:
        return None
    if not hasattr(lib, "inotify_init1"):
        return None
    return lib


_LIBC = _libc()


def available() -> bool:
    return _LIBC is not None


class DirectoryWatch:
    """inotify on one directory; ``await changes()`` returns what happened since last time."""

    def __init__(self, directory: Path) -> None:
        if _LIBC is None:
            raise SourceError("inotify is not available on this system")
        fd = _LIBC.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            code = ctypes.get_errno()
            raise SourceError(f"cannot start inotify: {os.strerror(code)}", errno=code)
        self.fd: int = fd
        self.directory = directory
        wd = _LIBC.inotify_add_watch(fd, os.fsencode(directory), DIRECTORY_EVENTS)
        if wd < 0:
            code = ctypes.get_errno()
            os.close(fd)
            raise SourceError(
                f"cannot watch {directory}: {os.strerror(code)}", path=str(directory), errno=code
            )
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _readable(self) -> None:
        self._ready.set()

    def read(self) -> list[Change]:
        """Every pending event, without waiting."""
        changes: list[Change] = []
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                raise SourceError(f"inotify read failed: {exc.strerror}") from exc
            if not data:
                break
            pos = 0
            while pos + _HEADER.size <= len(data):
                _wd, mask, _cookie, length = _HEADER.unpack_from(data, pos)
                pos += _HEADER.size
                raw = data[pos : pos + length]
                pos += length
                changes.append(Change(mask, os.fsdecode(raw.rstrip(b"\0"))))
        return changes

    async def changes(self, timeout: float | None) -> list[Change]:
        """Wait at most ``timeout`` seconds (``None``: forever) for events; ``[]`` on timeout."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self.fd, self._readable)
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            found = self.read()
            if found:
                return found
            self._ready.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._ready.wait()  # a wake with nothing to read waits on
            except TimeoutError:
                return []

    def close(self) -> None:
        if self.fd < 0:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self.fd)
        os.close(self.fd)
        self.fd = -1
