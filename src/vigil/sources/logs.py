"""Following logs: files like ``tail -F``, and the systemd journal.

:class:`FileFollower` follows one path:

* **Woken by the kernel** (inotify on the file's directory, :mod:`vigil.sources.inotify`); where
  there is no inotify it polls every ``poll_s`` and says so once.
* **Rotation by rename** (``app.log`` -> ``app.log.1``, a new ``app.log``): the renamed file is
  read to its end, late writes to it included, before the new one is read from its start.
  **Copytruncate**: a file shorter than the position read means it was truncated; reading starts
  again at 0. **A file that appears later** is read from its start; one that disappears is
  waited for.
* **Whole records only**: a partial last line waits for its newline, continuation lines join
  their record (:class:`vigil.parsing.loglines.RecordJoiner`), and an open record is handed on
  after ``quiet_s`` without new input. The first lines read from a file teach the joiner the
  shape of the file's headers (:mod:`vigil.parsing.logprofile`). A line over
  ``MAX_LINE_BYTES`` is cut (its head kept, the record marked ``truncated``), so memory stays
  bounded whatever the file holds.
* **Positions**: every batch comes with the :class:`Position` just after its last record (the
  file's device, inode and byte offset). Stored with the batch's effects, it makes a restart
  resume exactly there: nothing lost, nothing read twice, even when the file was rotated while
  Vigil was down (the renamed file is found by its inode and finished first).
* **Bad input**: bytes that are not UTF-8, NULs and control characters are cleaned (see
  ``loglines``); a directory, a parent directory that does not exist or one that goes away stops
  the follower with one clear :class:`SourceError`; a file that cannot be read (permissions) is
  reported once and retried when its attributes change.

The systemd journal is followed by :class:`vigil.sources.journal.JournalFollower`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import SourceError
from vigil.parsing.loglines import LogRecord, RecordJoiner, decode
from vigil.parsing.logprofile import PRIME_LINES
from vigil.sources import inotify

log = logging.getLogger("vigil.sources.logs")

MAX_LINE_BYTES = 1024 * 1024  # a longer line is cut: its first KEEP_BYTES are kept
KEEP_BYTES = 64 * 1024
READ_CHUNK = 1024 * 1024
QUIET_S = 0.01
ROTATED_GRACE_S = 2.0  # how long a renamed file is still read for late writes
IDLE_BEAT_S = 5.0


@dataclass(frozen=True, slots=True)
class Position:
    """Where a stream has been read up to (a file's identity and offset, or a journal cursor)."""

    device: int | None = None
    inode: int | None = None
    offset: int = 0
    cursor: str | None = None


OnBatch = Callable[[list[LogRecord], Position], Awaitable[None]]
Notice = Callable[[str], None]


def _log_notice(message: str) -> None:
    log.warning(message)


class LineSplitter:
    """Bytes into complete lines with their byte spans; the partial last line waits."""

    def __init__(self, offset: int) -> None:
        self.start = offset  # file offset of the first byte in the buffer
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line, after its kept head

    def feed(self, data: bytes) -> list[tuple[str, int, int, bool]]:
        """``(text, start, end, truncated)`` for each line completed by ``data``."""
        lines: list[tuple[str, int, int, bool]] = []
        buffer = self._buffer
        buffer += data
        pos = 0
        while True:
            newline = buffer.find(b"\n", pos)
            if newline < 0:
                break
            start = self.start + pos
            if self._skipping:
                self._skipping = False
            else:
                lines.append(
                    (decode(bytes(buffer[pos:newline])), start, self.start + newline + 1, False)
                )
            pos = newline + 1
        del buffer[:pos]
        self.start += pos
        if len(buffer) > MAX_LINE_BYTES and not self._skipping:
            head = decode(bytes(buffer[:KEEP_BYTES]))
            lines.append((head, self.start, self.start + len(buffer), True))
            self.start += len(buffer)
            buffer.clear()
            self._skipping = True
        elif self._skipping and buffer:
            self.start += len(buffer)
            buffer.clear()
        return lines

    @property
    def partial(self) -> int:
        return len(self._buffer)


class _Reader:
    """One open file: its identity, the splitter and the record joiner over it."""

    def __init__(self, fd: int, offset: int) -> None:
        self.fd = fd
        info = os.fstat(fd)
        self.device, self.inode = info.st_dev, info.st_ino
        self.offset = offset  # bytes read so far
        self.splitter = LineSplitter(offset)
        self.joiner = RecordJoiner()
        self.primed = False
        self.pending_start = offset  # where the open record began
        self.line_end = offset  # end of the last complete line
        self.quiet_since = 0.0

    def position(self) -> Position:
        at = self.pending_start if self.joiner.pending else self.line_end
        return Position(self.device, self.inode, at)

    def feed(self, data: bytes) -> list[LogRecord]:
        self.offset += len(data)
        done: list[LogRecord] = []
        lines = self.splitter.feed(data)
        if lines and not self.primed:  # the file's first lines teach it their header's shape
            self.joiner.prime([line[0] for line in lines[:PRIME_LINES]])
            self.primed = True
        for text, start, end, truncated in lines:
            was_pending = self.joiner.pending
            completed = self.joiner.feed(text, truncated=truncated)
            if completed or not was_pending:
                self.pending_start = start
            done += completed
            self.line_end = end
        return done

    def flush(self) -> list[LogRecord]:
        return self.joiner.flush()

    def reset(self) -> None:
        """The file was truncated: read it again from 0."""
        os.lseek(self.fd, 0, os.SEEK_SET)
        self.offset = 0
        self.splitter = LineSplitter(0)
        self.joiner = RecordJoiner()
        self.primed = False
        self.pending_start = self.line_end = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class FileFollower:
    """Follow one log file; hand batches of whole records to ``on_batch`` (see the module)."""

    def __init__(
        self,
        path: Path,
        on_batch: OnBatch,
        *,
        position: Position | None = None,
        from_start: bool = False,
        quiet_s: float = QUIET_S,
        poll_s: float = 1.0,
        notice: Notice = _log_notice,
    ) -> None:
        self.path = Path(path).absolute()  # not resolved: a symlink is followed by its name
        self.on_batch = on_batch
        self.position = position
        self.from_start = from_start
        self.quiet_s = quiet_s
        self.poll_s = poll_s
        self.notice = notice
        self._current: _Reader | None = None
        self._rotated: list[tuple[_Reader, float]] = []  # renamed away, still read for a while
        self._unreadable: str | None = None
        self._missing_said = False
        self.ready = asyncio.Event()  # set once the follower watches its file

    async def run(self, beat: Callable[[], None] | None = None) -> None:
        """Follow until cancelled; raises :class:`SourceError` when the path cannot be a log."""
        directory = self.path.parent
        if self.path.is_dir():
            raise SourceError(f"cannot follow {self.path}: it is a directory, not a file")
        if not directory.is_dir():
            raise SourceError(f"cannot follow {self.path}: directory {directory} does not exist")
        watch: inotify.DirectoryWatch | None = None
        if inotify.available():
            watch = inotify.DirectoryWatch(directory)
        else:
            self.notice(f"no inotify here: polling {self.path} every {self.poll_s:g}s")
        loop = asyncio.get_running_loop()
        try:
            await self._open_first()
            self.ready.set()
            while True:
                await self._read_all()
                pending = any(r.joiner.pending for r in self._readers())
                timeout = self.quiet_s if pending else IDLE_BEAT_S
                if self._rotated:
                    timeout = min(timeout, ROTATED_GRACE_S)
                if watch is not None:
                    changes = await watch.changes(timeout)
                else:
                    await asyncio.sleep(min(timeout, self.poll_s))
                    changes = []
                if beat is not None:
                    beat()
                if not changes and pending:
                    await self._read_all()
                    await self._flush_quiet()
                await self._retire_rotated(loop.time())
                await self._react(changes, loop.time())
        finally:
            for reader in self._readers():
                reader.close()
            self._current = None
            self._rotated = []
            if watch is not None:
                watch.close()

    # -- opening ------------------------------------------------------------------------------

    def _readers(self) -> list[_Reader]:
        return [r for r, _ in self._rotated] + ([self._current] if self._current else [])

    async def _open_first(self) -> None:
        stored = self.position
        if stored is not None and stored.inode is not None:
            info = _stat(self.path)
            if info is None or (info.st_dev, info.st_ino) != (stored.device, stored.inode):
                # Rotated while we were away: finish the renamed file first, if it is still here.
                old = self._find_inode(stored.device, stored.inode)
                if old is not None:
                    reader = self._open(old, stored.offset)
                    if reader is not None:
                        self._rotated.append((reader, asyncio.get_running_loop().time()))
                elif info is not None:
                    self.notice(
                        f"{self.path} was replaced while Vigil was away and the old file is "
                        "gone; reading the new one from its start"
                    )
                self._current = self._open(self.path, 0) if info is not None else None
                return
            offset = stored.offset if info.st_size >= stored.offset else 0
            self._current = self._open(self.path, offset)
            return
        if self.from_start:
            self._current = self._open(self.path, 0)
        else:
            info = _stat(self.path)
            self._current = self._open(self.path, info.st_size if info is not None else 0)
        if self._current is None and not self.path.exists():
            self._say_missing()

    def _open(self, path: Path, offset: int) -> _Reader | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise SourceError(f"cannot follow {path}: it is a directory, not a file") from None
        except PermissionError:
            if self._unreadable != str(path):
                self._unreadable = str(path)
                self.notice(f"cannot read {path}: permission denied; waiting for that to change")
            return None
        except OSError as exc:
            raise SourceError(f"cannot follow {path}: {exc.strerror}", path=str(path)) from exc
        self._unreadable = None
        self._missing_said = False
        try:
            size = os.fstat(fd).st_size
            if offset > size:
                offset = 0
            os.lseek(fd, offset, os.SEEK_SET)
        except OSError:
            os.close(fd)
            return None
        return _Reader(fd, offset)

    def _find_inode(self, device: int | None, inode: int) -> Path | None:
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.path.parent):
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if info.st_ino == inode and (device is None or info.st_dev == device):
                        return Path(entry.path)
        return None

    def _say_missing(self) -> None:
        if not self._missing_said:
            self._missing_said = True
            self.notice(f"{self.path} does not exist (yet); waiting for it")

    # -- reacting -----------------------------------------------------------------------------

    async def _react(self, changes: Sequence[inotify.Change], now: float) -> None:
        name = self.path.name
        gone = inotify.IN_DELETE_SELF | inotify.IN_MOVE_SELF | inotify.IN_IGNORED
        reopen = False
        for change in changes:
            if change.overflow:
                reopen = True
                continue
            if not change.name and change.mask & gone:
                await self._read_all()
                raise SourceError(f"cannot follow {self.path}: its directory was removed or moved")
            if change.name != name:
                continue
            if change.mask & (inotify.IN_MOVED_FROM | inotify.IN_DELETE) and self._current:
                self._rotated.append((self._current, now))
                self._current = None
            if change.mask & (inotify.IN_CREATE | inotify.IN_MOVED_TO | inotify.IN_ATTRIB):
                reopen = True
        if self._current is not None and (reopen or not changes):
            info = _stat(self.path)
            if info is None or (info.st_dev, info.st_ino) != (
                self._current.device,
                self._current.inode,
            ):  # replaced behind our back (a missed event): treat as a rename
                self._rotated.append((self._current, now))
                self._current = None
        if self._current is None:
            if self.path.is_dir():
                raise SourceError(f"cannot follow {self.path}: it is a directory, not a file")
            if self.path.exists():
                await self._read_all()  # finish the renamed file before the new one
                self._current = self._open(self.path, 0)
            else:
                self._say_missing()

    async def _retire_rotated(self, now: float) -> None:
        """Close renamed or deleted files after their grace period (a last read first): holding
        them open would also hold their directory."""
        keep: list[tuple[_Reader, float]] = []
        for reader, since in self._rotated:
            if now - since > ROTATED_GRACE_S:
                await self._read(reader, final=True)
                reader.close()
            else:
                keep.append((reader, since))
        self._rotated = keep

    # -- reading ------------------------------------------------------------------------------

    async def _read_all(self) -> None:
        for reader, _ in list(self._rotated):
            await self._read(reader, final=reader is not self._current)
        if self._current is not None:
            await self._read(self._current, final=False)

    async def _read(self, reader: _Reader, *, final: bool) -> None:
        try:
            size = os.fstat(reader.fd).st_size
        except OSError:
            return
        if size < reader.offset:
            self.notice(f"{self.path} was truncated; reading it again from its start")
            await self._emit(reader, reader.flush())
            reader.reset()
        records: list[LogRecord] = []
        while True:
            try:
                data = os.read(reader.fd, READ_CHUNK)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                self.notice(f"cannot read {self.path}: {exc.strerror}")
                break
            if not data:
                break
            records += reader.feed(data)
            if len(records) >= 2048:
                await self._emit(reader, records)
                records = []
        if final and reader is not self._current:
            records += reader.flush()
        await self._emit(reader, records)

    async def _flush_quiet(self) -> None:
        for reader in self._readers():
            await self._emit(reader, reader.flush())

    async def _emit(self, reader: _Reader, records: list[LogRecord]) -> None:
        if records:
            await self.on_batch(records, reader.position())


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None
