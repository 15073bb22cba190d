"""Following the systemd journal: ``journalctl -o json -f``, resuming after the stored cursor.

:class:`JournalFollower` runs the command (any command printing journal JSON lines will do, which
is how tests feed it a recorded stream), turns each entry into a record (journald's ``MESSAGE``,
numeric ``PRIORITY`` and ``__REALTIME_TIMESTAMP``; a message journald gives as a list of bytes is
decoded) prefixed with its unit, and hands batches on with the entry's ``__CURSOR`` as their
position. A missing ``journalctl`` is one :class:`SourceError`; the process is ended with the
follower.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import Callable, Sequence

from vigil.errors import SourceError
from vigil.parsing.loglines import LogRecord, decode, parse_record
from vigil.sources.logs import IDLE_BEAT_S, MAX_LINE_BYTES, QUIET_S, OnBatch, Position


class JournalFollower:
    """Follow the systemd journal through ``journalctl -o json -f`` (or ``command``)."""

    def __init__(
        self,
        on_batch: OnBatch,
        *,
        cursor: str | None = None,
        units: Sequence[str] = (),
        command: Sequence[str] | None = None,
        quiet_s: float = QUIET_S,
    ) -> None:
        self.on_batch = on_batch
        self.cursor = cursor
        self.units = tuple(units)
        self.command = tuple(command) if command else None
        self.quiet_s = quiet_s
        self.ready = asyncio.Event()

    def argv(self) -> list[str]:
        if self.command is not None:
            return list(self.command)
        argv = ["journalctl", "-o", "json", "-f", "--no-pager"]
        argv += ["--after-cursor", self.cursor] if self.cursor else ["-n", "0"]
        for unit in self.units:
            argv += ["-u", unit]
        return argv

    async def run(self, beat: Callable[[], None] | None = None) -> None:
        argv = self.argv()
        if shutil.which(argv[0]) is None:
            raise SourceError(f"cannot follow the journal: {argv[0]} is not installed")
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=MAX_LINE_BYTES,
        )
        assert process.stdout is not None
        self.ready.set()
        batch: list[LogRecord] = []
        try:
            while True:
                try:
                    async with asyncio.timeout(self.quiet_s if batch else IDLE_BEAT_S):
                        raw = await process.stdout.readline()
                except TimeoutError:
                    if beat is not None:
                        beat()
                    await self._emit(batch)
                    batch = []
                    continue
                except ValueError:  # a line over the limit: skip it
                    continue
                if not raw:
                    break
                if beat is not None:
                    beat()  # a busy journal never times out: beat as it flows
                record, cursor = journal_record(raw)
                if record is not None:
                    batch.append(record)
                if cursor:
                    self.cursor = cursor
                if len(batch) >= 2048:
                    await self._emit(batch)
                    batch = []
            await self._emit(batch)
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                with contextlib.suppress(TimeoutError, ProcessLookupError):
                    async with asyncio.timeout(2.0):
                        await process.wait()
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()

    async def _emit(self, batch: list[LogRecord]) -> None:
        if batch:
            await self.on_batch(batch, Position(cursor=self.cursor))


def journal_record(raw: bytes) -> tuple[LogRecord | None, str | None]:
    """One line of ``journalctl -o json``: the record (``None`` for a line that is not a journal
    entry) and its cursor."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return None, None
    if not isinstance(entry, dict):
        return None, None
    cursor = entry.get("__CURSOR")
    message = entry.get("MESSAGE")
    if isinstance(message, list):  # journald gives non-UTF-8 messages as a list of bytes
        try:
            message = decode(bytes(int(b) & 0xFF for b in message))
        except (TypeError, ValueError):
            message = None
    if not isinstance(message, str):
        return None, cursor if isinstance(cursor, str) else None
    entry["MESSAGE"] = message
    unit = entry.get("_SYSTEMD_UNIT") or entry.get("SYSLOG_IDENTIFIER")
    record = parse_record(json.dumps(entry, ensure_ascii=False))
    if unit and isinstance(unit, str):
        record = LogRecord(
            message=f"{unit}: {record.message}",
            level=record.level,
            time=record.time,
            raw=record.raw,
            lines=record.lines,
            truncated=record.truncated,
            fields=record.fields,
        )
    return record, cursor if isinstance(cursor, str) else None
