"""Health probes of the services and dependencies a project relies on (HTTP, TCP, command).

Config (``$VIGIL_HOME/config.toml``)::

    [[probes]]
    name = "api"                      # unique; letters, digits, . _ -
    kind = "http"                     # http | tcp | command
    target = "http://127.0.0.1:8000/health"   # tcp: "host:port"; command: a command line
    interval_s = 30
    timeout_s = 5
    expect_status = 200               # http only; default: any 2xx or 3xx
    expect_body = "ok"                # http only; the body must contain it
    fail_after = 3                    # consecutive failures before probe.failed
    recover_after = 2                 # consecutive successes before probe.recovered

Each probe is its own supervised component with its own schedule, and every check goes through
its own circuit breaker (``probe:<name>``): a dead service is not hammered, and while its breaker
is open a check is refused at once and counts as a failure. After ``fail_after`` consecutive
failures ``probe.failed`` is published (data ``name``, ``kind``, ``target``, ``error``,
``failures``); after ``recover_after`` consecutive successes of a failed probe,
``probe.recovered`` (``name``, ``kind``, ``target``, ``down_s``). The state is stored, so a
daemon restart neither repeats ``probe.failed`` nor forgets to say ``probe.recovered``.

Table (namespace ``probes``)::

    probe_state  name | status (ok|failed) | since | error
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.clock import Clock, isoformat, parse_iso
from vigil.errors import CircuitOpen, ConfigError, SourceError
from vigil.events import catalog
from vigil.events.model import Event, new_event
from vigil.reliability import BreakerPolicy, CircuitBreaker
from vigil.storage import Database, apply_migrations, sql

SOURCE = "vigil.probe"
KINDS = ("http", "tcp", "command")
MAX_BODY = 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEYS = {
    "name",
    "kind",
    "target",
    "interval_s",
    "timeout_s",
    "expect_status",
    "expect_body",
    "fail_after",
    "recover_after",
}
MIGRATIONS = [
    sql(
        """CREATE TABLE probe_state (
            name TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            since TEXT NOT NULL,
            error TEXT
        ) WITHOUT ROWID"""
    )
]
Publish = Callable[[Sequence[Event]], Awaitable[object]]


class ProbeFailure(SourceError):
    """A probe's check failed: the service answered wrongly or not at all."""


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    name: str
    kind: str
    target: str
    interval_s: float = 30.0
    timeout_s: float = 5.0
    expect_status: int | None = None
    expect_body: str | None = None
    fail_after: int = 3
    recover_after: int = 2

    def policy(self) -> BreakerPolicy:
        """The breaker: opens a little after probe.failed, probes again on the schedule."""
        return BreakerPolicy(
            failures=self.fail_after + 2,
            counted=(ProbeFailure,),
            open_base=max(self.interval_s, 1.0),
            open_max=max(self.interval_s * 10, 300.0),
            probe_timeout=self.timeout_s + 1.0,
        )


def _number(table: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{where}: {key} must be a positive number")
    return float(value)


def _count(table: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: {key} must be a positive integer")
    return value


def parse_probes(tables: Sequence[Mapping[str, Any]]) -> list[ProbeSpec]:
    """``[[probes]]`` tables, validated (a bad one is a :class:`ConfigError`)."""
    specs: list[ProbeSpec] = []
    for index, table in enumerate(tables):
        where = f"config.toml [[probes]] #{index + 1}"
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
        name = table.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}: name must be letters, digits, '.', '_' or '-'")
        where = f"config.toml [[probes]] {name!r}"
        if any(spec.name == name for spec in specs):
            raise ConfigError(f"{where}: the name is used twice")
        kind = table.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{where}: kind must be one of {', '.join(KINDS)}")
        target = table.get("target")
        if not isinstance(target, str) or not target.strip():
            raise ConfigError(f"{where}: target must be a non-empty string")
        if kind == "http" and not target.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: an http target must start with http:// or https://")
        if kind == "tcp":
            _host_port(target, where)
        if kind == "command":
            try:
                if not shlex.split(target):
                    raise ValueError("empty")
            except ValueError as exc:
                raise ConfigError(f"{where}: target is not a command line ({exc})") from None
        status = table.get("expect_status")
        if status is not None and (
            kind != "http" or isinstance(status, bool) or not isinstance(status, int)
        ):
            raise ConfigError(f"{where}: expect_status is an integer, for http probes only")
        body = table.get("expect_body")
        if body is not None and (kind != "http" or not isinstance(body, str)):
            raise ConfigError(f"{where}: expect_body is a string, for http probes only")
        specs.append(
            ProbeSpec(
                name=name,
                kind=kind,
                target=target.strip(),
                interval_s=_number(table, "interval_s", where, 30.0),
                timeout_s=_number(table, "timeout_s", where, 5.0),
                expect_status=status,
                expect_body=body,
                fail_after=_count(table, "fail_after", where, 3),
                recover_after=_count(table, "recover_after", where, 2),
            )
        )
    return specs


def _host_port(target: str, where: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{where}: a tcp target is host:port, got {target!r}")
    return host, int(port)


# -- checks ------------------------------------------------------------------------------------


async def _http(spec: ProbeSpec) -> None:
    import httpx

    try:
        async with (
            httpx.AsyncClient(timeout=spec.timeout_s, follow_redirects=False) as client,
            client.stream("GET", spec.target) as response,
        ):
            body = b""
            if spec.expect_body is not None:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        break
    except httpx.HTTPError as exc:
        raise ProbeFailure(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
    code = response.status_code
    if spec.expect_status is not None and code != spec.expect_status:
        raise ProbeFailure(f"status {code}, expected {spec.expect_status}")
    if spec.expect_status is None and not 200 <= code < 400:
        raise ProbeFailure(f"status {code}")
    if spec.expect_body is not None and spec.expect_body not in body.decode("utf-8", "replace"):
        raise ProbeFailure(f"the body does not contain {spec.expect_body!r}")


async def _tcp(spec: ProbeSpec) -> None:
    host, port = _host_port(spec.target, spec.name)
    try:
        async with asyncio.timeout(spec.timeout_s):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        raise ProbeFailure(f"no connection within {spec.timeout_s:g} s") from None
    except OSError as exc:
        raise ProbeFailure(f"cannot connect: {exc.strerror or exc}") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _command(spec: ProbeSpec) -> None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *shlex.split(spec.target),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ProbeFailure(f"cannot start: {exc.strerror or exc}") from None
    try:
        async with asyncio.timeout(spec.timeout_s):
            _, err = await proc.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the command and its children
        await proc.wait()
        raise ProbeFailure(f"did not finish within {spec.timeout_s:g} s") from None
    if proc.returncode != 0:
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise ProbeFailure(f"exit {proc.returncode}: {last[0][:300]}".rstrip(": "))


CHECKS = {"http": _http, "tcp": _tcp, "command": _command}


async def check(spec: ProbeSpec) -> None:
    """Run the check once; raises :class:`ProbeFailure`."""
    await CHECKS[spec.kind](spec)


# -- state and schedule --------------------------------------------------------------------------


class ProbeStates:
    """The stored status (``ok`` or ``failed``) of every probe."""

    def __init__(self, db: Database) -> None:
        self.db = db
        apply_migrations(db, "probes", MIGRATIONS)

    def load(self) -> dict[str, tuple[str, str, str | None]]:
        rows = self.db.query("SELECT name, status, since, error FROM probe_state")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def save(self, name: str, status: str, since: str, error: str | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO probe_state (name, status, since, error) VALUES (?,?,?,?)",
                (name, status, since, error),
            )


@dataclass(slots=True)
class ProbeState:
    status: str = "unknown"  # unknown | ok | failing | failed
    failures: int = 0
    successes: int = 0
    checks: int = 0
    last_check: str | None = None
    last_error: str | None = None
    since: str | None = None
    stored: str | None = field(default=None, repr=False)  # the status as stored


class ProbeRunner:
    """One probe on its own schedule (a supervised component)."""

    def __init__(
        self,
        spec: ProbeSpec,
        breaker: CircuitBreaker,
        publish: Publish,
        clock: Clock,
        states: ProbeStates,
        save: Callable[[Callable[[], None]], Awaitable[None]],
        stored: tuple[str, str, str | None] | None = None,
    ) -> None:
        self.spec = spec
        self.breaker = breaker
        self.publish = publish
        self.clock = clock
        self.states = states
        self.save = save
        self.state = ProbeState()
        if stored is not None:
            self.state.stored, self.state.since, self.state.last_error = stored
            self.state.status = "failed" if stored[0] == "failed" else "unknown"

    async def __call__(self, beat: Callable[[], None]) -> None:
        while True:
            beat()
            await self.tick()
            beat()
            await self.clock.sleep(self.spec.interval_s)

    async def tick(self) -> list[Event]:
        """Check once, update the counts, publish a transition if there is one."""
        error: str | None = None
        try:
            await self.breaker.acall(check, self.spec)
        except CircuitOpen as exc:
            error = f"not checked: {exc}"
        except ProbeFailure as exc:
            error = str(exc)
        state, spec = self.state, self.spec
        now = isoformat(self.clock.now())
        state.checks += 1
        state.last_check = now
        events: list[Event] = []
        if error is None:
            state.successes += 1
            state.failures = 0
            if state.status == "failed" and state.successes >= spec.recover_after:
                down = _seconds_between(state.since, now)
                events.append(self._event(catalog.PROBE_RECOVERED, {"down_s": down}))
                await self._store("ok", now, None)
            elif state.status != "failed":
                state.status = "ok"
                if state.stored != "ok":
                    await self._store("ok", now, None)
        else:
            state.failures += 1
            state.successes = 0
            state.last_error = error
            if state.status != "failed" and state.failures >= spec.fail_after:
                events.append(
                    self._event(catalog.PROBE_FAILED, {"error": error, "failures": state.failures})
                )
                await self._store("failed", now, error)
            elif state.status != "failed":
                state.status = "failing"
        if events:
            await self.publish(events)
        return events

    async def _store(self, status: str, since: str, error: str | None) -> None:
        self.state.status = status
        self.state.since = since
        self.state.stored = status
        await self.save(lambda: self.states.save(self.spec.name, status, since, error))

    def _event(self, kind: str, extra: dict[str, Any]) -> Event:
        spec = self.spec
        data = {"name": spec.name, "kind": spec.kind, "target": spec.target, **extra}
        return new_event(kind, data, clock=self.clock, source=SOURCE, subject=spec.name)

    def report(self) -> dict[str, Any]:
        state, spec = self.state, self.spec
        return {
            "name": spec.name,
            "kind": spec.kind,
            "target": spec.target,
            "status": state.status,
            "since": state.since,
            "consecutive_failures": state.failures,
            "consecutive_successes": state.successes,
            "checks": state.checks,
            "last_check": state.last_check,
            "last_error": state.last_error,
            "interval_s": spec.interval_s,
            "breaker": self.breaker.state.value,
        }


def _seconds_between(start: str | None, end: str) -> float | None:
    if start is None:
        return None
    return round((parse_iso(end) - parse_iso(start)).total_seconds(), 3)
