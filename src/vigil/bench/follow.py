"""follow: from publish to print, for ``vigil events --follow``, and what the bells cost a publish.

``vigil events --follow --json`` runs as its own process (the console script) on a temporary
home; this process publishes one event at a time through ``Vigil.publish`` (the log, then the
doorbell) and reads the follower's line for it from a pipe. Latency is from just before the
publish to the moment the line is read: storage, the ring, the follower's wake-up, its read of
the log and its print. Measured with no daemon, then with ``vigil up`` beside it (the publish
then rings the daemon too). Before the bell (issue 7), the follower re-read every 100 ms: a mean
near 50 ms and a p95 near 100 ms.

Baseline, in the same run: a bare Python process that blocks on a datagram socket of its own and
prints a line per datagram; this process sends one and reads the line (the floor for waking
another process and hearing from it).

Cost to a publish: ``ring`` alone, per call, with no follower and with one, against what a ring
was before followers existed (one datagram from a new socket to the daemon's address, measured
here: the baseline ``one datagram``), and as a share of a publish (the single append it follows,
``SqliteEventLog.append`` of one event; the ``publish`` section measures appends on their own).
Target: a ring with no follower costs no more than that one datagram did.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result, vigil_home
from vigil.clock import SystemClock
from vigil.events.doorbell import Follower, address, ring
from vigil.events.log import SqliteEventLog
from vigil.events.model import new_event
from vigil.storage import Database

TARGET_P95_MS = 50.0
TARGET_RING_RATIO = 1.0
WARMUP = 3
TIMEOUT_S = 60.0

_BARE = (
    "import socket, sys\n"
    "sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
    "sock.bind(sys.argv[1].encode().replace(b'@', b'\\0', 1))\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    data = sock.recv(64)\n"
    "    print(data.decode(), flush=True)\n"
)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@contextlib.contextmanager
def _daemon(ctx: Context, home: Path, env: dict[str, str]) -> Iterator[None]:
    proc = subprocess.Popen(
        [str(ctx.vigil_script), "up", "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        state = home / "run" / "daemon.json"
        deadline = time.monotonic() + TIMEOUT_S
        while not state.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the daemon did not start")
            time.sleep(0.05)
        yield
    finally:
        _stop(proc)


@contextlib.contextmanager
def _follower(ctx: Context, home: Path, env: dict[str, str]) -> Iterator[IO[str]]:
    proc = subprocess.Popen(
        [str(ctx.vigil_script), "events", "--follow", "--json", "--type", "bench.*"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        bells = home / "run" / "bells"
        deadline = time.monotonic() + TIMEOUT_S
        while not (
            bells.exists() and any(p.name.startswith(f"{proc.pid}-") for p in bells.iterdir())
        ):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the follower did not start")
            time.sleep(0.02)
        assert proc.stdout is not None
        yield proc.stdout
    finally:
        _stop(proc)


def _latencies(home: Path, out: IO[str], count: int) -> list[int]:
    """Publish ``count`` (+ warm-up) events one at a time; ns from publish to the line read."""
    from vigil.app import Vigil
    from vigil.config import load_settings

    samples: list[int] = []
    with vigil_home(home), Vigil.open(load_settings()) as vigil:
        for i in range(WARMUP + count):
            event = vigil.event("bench.follow.measured", {"i": i}, source="vigil.bench")
            started = time.perf_counter_ns()
            vigil.publish([event])
            line = out.readline()
            elapsed = time.perf_counter_ns() - started
            if json.loads(line)["data"]["i"] != i:
                raise RuntimeError(f"the follower printed {line!r} for event {i}")
            if i >= WARMUP:
                samples.append(elapsed)
    return samples


def _bare(ctx: Context, count: int) -> list[int]:
    name = f"@vigil-bench-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [str(ctx.python), "-c", _BARE, name],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    samples: list[int] = []
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare listener did not start")
        target = name.encode().replace(b"@", b"\0", 1)
        for i in range(WARMUP + count):
            started = time.perf_counter_ns()
            sock.sendto(str(i).encode(), target)
            line = proc.stdout.readline()
            elapsed = time.perf_counter_ns() - started
            if line.strip() != str(i):
                raise RuntimeError(f"the bare listener printed {line!r}")
            if i >= WARMUP:
                samples.append(elapsed)
    finally:
        sock.close()
        _stop(proc)
    return samples


def _datagram(home: Path) -> None:
    """A ring as it was before followers: a new socket, one datagram to the daemon, closed."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.sendto(b"!", address(home))
    except OSError:
        pass
    finally:
        sock.close()


def _ring_costs(ctx: Context, count: int) -> dict[str, list[int]]:
    """Per-call ns of a single append, of ``ring`` with no follower and with one, and of one
    datagram (the baseline), interleaved."""
    home = ctx.directory("ring-home")
    clock = SystemClock()
    log = SqliteEventLog(Database(home / "vigil.db"), clock)
    events = [
        new_event("bench.ring.measured", {"i": i}, clock=clock, source="b") for i in range(count)
    ]
    costs: dict[str, list[int]] = {
        "append": [],
        "ring, no follower": [],
        "ring, one follower": [],
        "one datagram": [],
    }
    try:
        for event in events:
            started = time.perf_counter_ns()
            log.append([event])
            costs["append"].append(time.perf_counter_ns() - started)
            started = time.perf_counter_ns()
            ring(home)
            costs["ring, no follower"].append(time.perf_counter_ns() - started)
            started = time.perf_counter_ns()
            _datagram(home)
            costs["one datagram"].append(time.perf_counter_ns() - started)
        with Follower(home) as bell:
            for _ in range(count):
                started = time.perf_counter_ns()
                ring(home)
                costs["ring, one follower"].append(time.perf_counter_ns() - started)
                bell.wait(0)
    finally:
        log.db.close()
    return costs


def run(ctx: Context) -> Result:
    count = ctx.size(60, 15)
    result = Result()
    if not ctx.vigil_script.exists():
        result.notes.append(f"no console script at {ctx.vigil_script}: install Vigil in this venv")
        return result
    ctx.say(f"follow: {count} events published and printed, bare wake-ups, ring costs")
    result.baseline["bare wake-up and print"] = stats.latency(_bare(ctx, count))
    bare_p50 = result.baseline["bare wake-up and print"]["p50"]
    for label in ("no_daemon", "daemon"):
        home = ctx.directory(f"home-{label}")
        env = ctx.env(home)
        with contextlib.ExitStack() as stack:
            if label == "daemon":
                stack.enter_context(_daemon(ctx, home, env))
            out = stack.enter_context(_follower(ctx, home, env))
            figure = stats.latency(_latencies(home, out, count))
        result.figures[f"{label}: publish to print"] = figure
        result.ratio[f"{label}: publish to print / bare wake-up (p50)"] = stats.ratio(
            figure["p50"], bare_p50
        )
        result.checks.append(
            Check(f"{label}: publish to print p95_ms", figure.get("p95"), "<", TARGET_P95_MS)
        )
    costs = {name: stats.latency(ns) for name, ns in _ring_costs(ctx, count * 10).items()}
    result.baseline["one datagram (a ring before followers)"] = costs.pop("one datagram")
    datagram_p50 = result.baseline["one datagram (a ring before followers)"]["p50"]
    result.figures["per call"] = costs
    append_p50 = costs["append"]["p50"]
    for name in ("ring, no follower", "ring, one follower"):
        ring_p50 = costs[name]["p50"]
        result.ratio[f"{name} / one datagram (p50)"] = stats.ratio(ring_p50, datagram_p50)
        result.ratio[f"{name} / (append + ring) (p50)"] = stats.ratio(
            ring_p50, append_p50 + ring_p50
        )
    result.checks.append(
        Check(
            "ring, no follower / one datagram (p50)",
            result.ratio["ring, no follower / one datagram (p50)"],
            "<=",
            TARGET_RING_RATIO,
        )
    )
    result.notes.append(
        "a publish is an append then a ring; the ring reuses one socket per process, so with no "
        "follower it is one datagram and one access() of a missing directory"
    )
    return result
