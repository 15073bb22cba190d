"""cross_process: another process publishes -> the daemon's handler runs.

This process plays the daemon: an :class:`EventBus` with a durable consumer, woken by a
:class:`Doorbell` on a temporary home. A separate interpreter (``vigil.bench.publisher``, the venv's
Python) appends events one at a time with ``SqliteEventLog.append`` and rings the doorbell after
each, ~5 ms apart; each event carries ``time.time_ns()`` of its publish start, and the handler
takes the difference on entry (both processes read the same wall clock).

Baseline, same run, same spacing: the publisher sends its ``time.time_ns()`` in a bare datagram to
a unix socket this loop listens on: the cost of crossing processes and waking the event loop,
with nothing stored or read.

For information, the full CLI path: ``vigil ingest FILE`` (the console script) from the moment the
subprocess is started to the handler's entry; it includes interpreter start-up and imports.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result
from vigil.bench.publisher import PROBE
from vigil.clock import SystemClock
from vigil.events.bus import EventBus, Outcome
from vigil.events.doorbell import Doorbell
from vigil.events.log import SqliteEventLog
from vigil.events.model import Event
from vigil.storage import Database

TARGET_P99_MS = 50.0
GAP_MS = 5.0
WARMUP = 10
CLI_PROBE = "bench.cli.probed"
WAIT_S = 30.0


class _Handler:
    """Records cross-process deltas and CLI probe arrivals, on the database thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, expected: int) -> None:
        self.loop = loop
        self.expected = expected
        self.seen = 0
        self.deltas: list[int] = []
        self.all_seen: asyncio.Future[None] = loop.create_future()
        self.cli: dict[int, int] = {}
        self.cli_waiting: dict[int, asyncio.Future[None]] = {}

    def handle(self, event: Event) -> Outcome | None:
        now_wall = time.time_ns()
        now = time.perf_counter_ns()
        if event.type == PROBE:
            if not event.data.get("warm"):
                self.deltas.append(now_wall - int(event.data["t_ns"]))
            self.seen += 1
            if self.seen >= self.expected:
                self.loop.call_soon_threadsafe(_release, self.all_seen)
        elif event.type == CLI_PROBE:
            probe = int(event.data["probe"])
            self.cli[probe] = now
            future = self.cli_waiting.get(probe)
            if future is not None:
                self.loop.call_soon_threadsafe(_release, future)
        return None


def _release(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Datagrams(asyncio.DatagramProtocol):
    """The baseline's receiver: ``i:t_ns`` in, wall-clock delta out."""

    def __init__(self, loop: asyncio.AbstractEventLoop, expected: int) -> None:
        self.deltas: list[int] = []
        self.seen = 0
        self.expected = expected
        self.all_seen: asyncio.Future[None] = loop.create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        now = time.time_ns()
        index, sent = data.decode().split(":")
        if int(index) >= WARMUP:
            self.deltas.append(now - int(sent))
        self.seen += 1
        if self.seen >= self.expected:
            _release(self.all_seen)


async def _subprocess(argv: list[str], env: dict[str, str], timeout: float) -> None:
    """Run ``argv`` to its end; a failure or a time-out (the process is killed) raises."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"{' '.join(argv[:4])} did not finish in {timeout:g} s") from None
    if proc.returncode != 0:
        tail = err.decode(errors="replace")[-500:]
        raise RuntimeError(f"{' '.join(argv[:4])} exited {proc.returncode}: {tail}")


async def _publisher(ctx: Context, home: Path, mode: str, target: str, n: int) -> None:
    argv = [str(ctx.python), "-m", "vigil.bench.publisher", mode, target]
    argv += [str(n), str(GAP_MS), str(WARMUP)]
    await _subprocess(argv, ctx.env(home), WAIT_S + n * GAP_MS / 1000 * 4)


async def _baseline(ctx: Context, home: Path, n: int) -> list[int]:
    loop = asyncio.get_running_loop()
    path = str(ctx.root / "raw.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    protocol = _Datagrams(loop, n + WARMUP)
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol, sock=sock)
    try:
        await _publisher(ctx, home, "raw", path, n)
        await asyncio.wait_for(protocol.all_seen, WAIT_S)
    finally:
        transport.close()
    return protocol.deltas


async def _cli_path(ctx: Context, home: Path, handler: _Handler, n: int) -> dict[str, list[int]]:
    """``vigil ingest FILE`` started -> handler entry, and the process's whole run."""
    script = ctx.vigil_script
    command = [str(script)] if script.exists() else [str(ctx.python), "-m", "vigil"]
    loop = asyncio.get_running_loop()
    to_handler: list[int] = []
    to_exit: list[int] = []
    for probe in range(n):
        path = ctx.root / f"ingest-{probe}.jsonl"
        line = {"type": CLI_PROBE, "data": {"probe": probe}, "source": "vigil.bench"}
        path.write_text(json.dumps(line) + "\n", encoding="utf-8")
        arrived: asyncio.Future[None] = loop.create_future()
        handler.cli_waiting[probe] = arrived
        started = time.perf_counter_ns()
        await _subprocess([*command, "ingest", str(path)], ctx.env(home), WAIT_S)
        exited = time.perf_counter_ns()
        await asyncio.wait_for(arrived, WAIT_S)
        to_handler.append(handler.cli[probe] - started)
        to_exit.append(exited - started)
    return {"to_handler": to_handler, "to_exit": to_exit}


async def _measure(ctx: Context, n: int, n_cli: int) -> dict[str, Any]:
    home = ctx.directory("home")
    db = Database(home / "vigil.db")
    log = SqliteEventLog(db, SystemClock())
    bus = EventBus(log, source="vigil.bench")
    handler = _Handler(asyncio.get_running_loop(), n + WARMUP)
    bus.add_consumer("bench-cross-process", ["bench.*"], handler.handle)
    bell = Doorbell(home, bus.wake)
    await bell.open()
    await bus.start()
    try:
        ctx.say(f"cross_process: {n} events from another process, {GAP_MS:g} ms apart")
        await _publisher(ctx, home, "vigil", str(home), n)
        await asyncio.wait_for(handler.all_seen, WAIT_S)
        ctx.say(f"cross_process: baseline, {n} bare datagrams")
        raw = await _baseline(ctx, home, n)
        ctx.say(f"cross_process: {n_cli} x `vigil ingest FILE`")
        try:
            cli: dict[str, Any] = await _cli_path(ctx, home, handler, n_cli)
        except (RuntimeError, TimeoutError) as exc:
            cli = {"error": str(exc)}
    finally:
        await bus.stop()
        bell.close()
        db.close()
    return {"vigil": handler.deltas, "raw": raw, "cli": cli}


def run(ctx: Context) -> Result:
    n = ctx.size(300, 50)
    n_cli = ctx.size(10, 3)
    found = asyncio.run(_measure(ctx, n, n_cli))
    vigil = stats.latency(found["vigil"])
    raw = stats.latency(found["raw"])
    result = Result()
    result.figures["publish_to_handler"] = vigil
    result.baseline["datagram_to_loop"] = raw
    result.ratio.update({f"{q}_vs_datagram": stats.ratio(vigil[q], raw[q]) for q in ("p50", "p99")})
    cli = found["cli"]
    if "error" in cli:
        result.figures["cli_ingest_to_handler"] = {"error": cli["error"]}
        result.notes.append("the `vigil ingest` path failed; see figures.cli_ingest_to_handler")
    else:
        result.figures["cli_ingest_to_handler"] = stats.latency(cli["to_handler"])
        result.figures["cli_ingest_process"] = stats.latency(cli["to_exit"])
        result.notes.append(
            "cli_ingest_* (information, no target) include interpreter start-up and imports"
        )
    result.checks.append(Check("p99_ms", vigil["p99"], "<", TARGET_P99_MS))
    return result
