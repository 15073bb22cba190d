"""Followed logs, put together: follower -> template miner -> anomaly detector -> bus.

One :class:`LogStream` per ``[[logs.follow]]`` table runs as a supervised daemon component (and
in the foreground for ``vigil logs follow``). For every batch of whole records it mines their
templates, asks the detector for anomalies, and then, in **one transaction**, appends the
``log.anomaly.detected`` events, saves the templates that changed and the read position: a crash
anywhere leaves either all of a batch's effects or none, so a restart neither loses nor repeats
a record. A path that can never be a log (a directory, a missing parent) stops the stream with
one clear line; the others keep running.

Config::

    [[logs.follow]]
    path = "/var/log/app.log"     # followed like tail -F (first time: from its end)
    from_start = false            # true: read what is already there the first time

    [[logs.follow]]
    kind = "journald"             # journalctl -o json -f
    units = ["nginx.service"]     # optional
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.clock import Clock, isoformat
from vigil.config import Settings
from vigil.errors import ConfigError, SourceError
from vigil.events import catalog
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event, new_event
from vigil.handlers.loganomaly import AnomalyDetector
from vigil.memory.logstate import LogState, StoredOffset, StoredTemplate
from vigil.parsing.loglines import LogRecord
from vigil.parsing.templates import Template, TemplateMiner, TemplateRecord
from vigil.sources.journal import JournalFollower
from vigil.sources.logs import FileFollower, Position

log = logging.getLogger("vigil.logs")

JOURNALD = "journald"
_KEYS = {"path", "kind", "from_start", "units", "command"}


@dataclass(frozen=True, slots=True)
class FollowSpec:
    """One followed log, validated."""

    kind: str  # "file" or "journald"
    stream: str  # the key its templates and position are stored under
    path: Path | None = None
    from_start: bool = False
    units: tuple[str, ...] = ()
    command: tuple[str, ...] = ()  # journald: another command printing journal JSON (tests)

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else self.stream


def follow_specs(settings: Settings) -> list[FollowSpec]:
    """The ``[[logs.follow]]`` tables as specs; :class:`ConfigError` names the first bad one."""
    specs: list[FollowSpec] = []
    for index, table in enumerate(settings.log_follow, 1):
        specs.append(parse_spec(table, f"config.toml [[logs.follow]] #{index}"))
    streams = [spec.stream for spec in specs]
    if len(set(streams)) != len(streams):
        raise ConfigError("config.toml [[logs.follow]]: the same log is followed twice")
    return specs


def parse_spec(table: Mapping[str, Any], origin: str) -> FollowSpec:
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"{origin}: unknown key(s) {', '.join(sorted(unknown))}")
    kind = table.get("kind", "file")
    from_start = table.get("from_start", False)
    if not isinstance(from_start, bool):
        raise ConfigError(f"{origin}: from_start must be true or false")
    if kind == JOURNALD:
        units = table.get("units", [])
        command = table.get("command", [])
        if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
            raise ConfigError(f"{origin}: units must be a list of unit names")
        if not isinstance(command, list) or not all(isinstance(c, str) for c in command):
            raise ConfigError(f"{origin}: command must be a list of strings")
        stream = JOURNALD + (":" + ",".join(sorted(units)) if units else "")
        return FollowSpec(JOURNALD, stream, units=tuple(units), command=tuple(command))
    if kind != "file":
        raise ConfigError(f'{origin}: kind must be "file" or "journald", got {kind!r}')
    raw = table.get("path")
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{origin}: path must be a file path")
    path = Path(raw).expanduser().absolute()  # not resolved: a symlink is followed by name
    return FollowSpec("file", str(path), path=path, from_start=from_start)


def file_spec(path: str, *, from_start: bool = False) -> FollowSpec:
    return parse_spec({"path": path, "from_start": from_start}, "vigil logs follow")


def to_records(stored: Sequence[StoredTemplate]) -> list[TemplateRecord]:
    return [
        TemplateRecord(t.template_id, t.text, t.tokens, t.count, t.first_seen, t.last_seen)
        for t in stored
    ]


def to_stored(stream: str, records: Sequence[TemplateRecord]) -> list[StoredTemplate]:
    return [
        StoredTemplate(stream, r.id, r.text, r.tokens, r.count, r.first_seen, r.last_seen)
        for r in records
    ]


def anomaly_fingerprint(stream: str, kind: str, template_id: str) -> str:
    return hashlib.sha256(f"{stream}\x1f{kind}\x1f{template_id}".encode()).hexdigest()[:16]


Printer = Callable[[LogRecord, Template, list[Event]], None]


class LogStream:
    """One followed log, end to end; ``await stream(beat)`` runs it until cancelled."""

    def __init__(
        self,
        spec: FollowSpec,
        *,
        event_log: SqliteEventLog,
        state: LogState,
        clock: Clock,
        wake: Callable[[], None] = lambda: None,
        source: str = "vigil.daemon",
        printer: Printer | None = None,
        resume: bool = True,
        quiet_s: float | None = None,
        detector_options: Mapping[str, Any] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.spec = spec
        self._say = notice
        self.detector_options = dict(detector_options or {})
        self.log = event_log
        self.db = event_log.db
        self.state = state
        self.clock = clock
        self.wake = wake
        self.source = source
        self.printer = printer
        self.resume = resume  # store and resume the read position (the daemon does)
        self.quiet_s = quiet_s
        self.miner = TemplateMiner()
        self.detector: AnomalyDetector | None = None
        self._known: set[str] = set()
        self.records = 0
        self.anomalies = 0
        self.follower: FileFollower | JournalFollower | None = None

    async def __call__(self, beat: Callable[[], None]) -> None:
        try:
            await self.run(beat)
        except SourceError as exc:
            # A path that cannot be a log: say it once and stop; a restart would say it again.
            log.error("log stream stopped", extra={"stream": self.spec.label, "error": str(exc)})

    async def run(self, beat: Callable[[], None] | None = None) -> None:
        stored = await self.db.call(self.state.templates, self.spec.stream)
        self.miner = TemplateMiner(to_records(stored))
        self._known = {t.template_id for t in stored}
        self.detector = AnomalyDetector(
            self.spec.label, self.clock, known_templates=len(stored), **self.detector_options
        )
        position: Position | None = None
        if self.resume:
            saved = await self.db.call(self.state.offset, self.spec.stream)
            if saved is not None:
                position = Position(saved.device, saved.inode, saved.offset, saved.cursor)
        extra: dict[str, Any] = {} if self.quiet_s is None else {"quiet_s": self.quiet_s}
        if self.spec.kind == JOURNALD:
            self.follower = JournalFollower(
                self._batch,
                cursor=position.cursor if position else None,
                units=self.spec.units,
                command=self.spec.command or None,
                **extra,
            )
        else:
            assert self.spec.path is not None
            self.follower = FileFollower(
                self.spec.path,
                self._batch,
                position=position,
                from_start=self.spec.from_start,
                notice=self._notice,
                **extra,
            )
        await self.follower.run(beat)

    def _notice(self, message: str) -> None:
        if self._say is not None:
            self._say(message)
        else:
            log.warning(message, extra={"stream": self.spec.label})

    async def _batch(self, records: list[LogRecord], position: Position) -> None:
        assert self.detector is not None
        now = isoformat(self.clock.now())
        templates = self.miner.add_many([r.headline for r in records], when=now)
        events: list[Event] = []
        per_record: list[list[Event]] = []
        for record, template in zip(records, templates, strict=True):
            new = template.id not in self._known and template.id != "T0"
            if new:
                self._known.add(template.id)
            found = self.detector.observe(record, template.id, template.text, new=new)
            mine = [self._event(data) for data in found]
            per_record.append(mine)
            events += mine
        changed = to_stored(self.spec.stream, self.miner.take_changed())
        offset = (
            StoredOffset(
                self.spec.stream,
                position.device,
                position.inode,
                position.offset,
                position.cursor,
                now,
            )
            if self.resume
            else None
        )
        stored = await self.db.call(self._commit, events, changed, offset)
        if stored:
            self.wake()
        self.records += len(records)
        self.anomalies += len(events)
        if self.printer is not None:
            by_id = {e.id: e for e in stored}
            for record, template, mine in zip(records, templates, per_record, strict=True):
                self.printer(record, template, [by_id.get(e.id, e) for e in mine])

    def _commit(
        self, events: list[Event], templates: list[StoredTemplate], offset: StoredOffset | None
    ) -> list[Event]:
        with self.db.transaction():
            stored = self.log.append(events) if events else []
            self.state.save(templates, offset)
        return stored

    def _event(self, data: dict[str, Any]) -> Event:
        return new_event(
            catalog.LOG_ANOMALY_DETECTED,
            data,
            clock=self.clock,
            source=self.source,
            subject=self.spec.label,
            fingerprint=anomaly_fingerprint(self.spec.stream, data["kind"], data["template_id"]),
        )
