"""The other process of the ``cross_process`` section: ``python -m vigil.bench.publisher``.

It stands in for a CLI process publishing while the daemon runs. Usage::

    python -m vigil.bench.publisher vigil HOME COUNT GAP_MS WARMUP
        append COUNT events one at a time (``SqliteEventLog.append``), ringing the doorbell of
        HOME after each; every event carries ``time.time_ns()`` of its publish start in ``t_ns``
    python -m vigil.bench.publisher raw SOCKET COUNT GAP_MS WARMUP
        the baseline: send ``i:t_ns`` in one datagram to the unix socket SOCKET, nothing stored

The first WARMUP events are marked ``warm`` and not counted (first-write costs).
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

PROBE = "bench.cross.probed"


def publish_events(home: Path, count: int, gap_s: float, warmup: int) -> None:
    from vigil.clock import SystemClock
    from vigil.events.doorbell import ring
    from vigil.events.log import SqliteEventLog
    from vigil.events.model import new_event
    from vigil.storage import Database

    clock = SystemClock()
    log = SqliteEventLog(Database(home / "vigil.db"), clock)
    try:
        for i in range(warmup + count):
            started = time.time_ns()
            event = new_event(
                PROBE,
                {"t_ns": started, "i": i, "warm": i < warmup},
                clock=clock,
                source="vigil.bench.publisher",
                subject="bench",
            )
            log.append([event])
            ring(home)
            time.sleep(gap_s)
    finally:
        log.db.close()


def send_datagrams(path: str, count: int, gap_s: float, warmup: int) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        for i in range(warmup + count):
            sock.sendto(f"{i}:{time.time_ns()}".encode(), path)
            time.sleep(gap_s)
    finally:
        sock.close()


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[0] not in ("vigil", "raw"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, target, count, gap_ms, warmup = argv
    if mode == "vigil":
        publish_events(Path(target), int(count), float(gap_ms) / 1000, int(warmup))
    else:
        send_datagrams(target, int(count), float(gap_ms) / 1000, int(warmup))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
