"""How busy the rest of the machine was while a section ran.

A p99 on a shared machine measures the neighbours too. :class:`CpuWatch` reads the kernel's CPU
counters (``/proc/stat``, Linux) before and after, subtracts this process's own CPU time and its
waited-for children's, and reports what other processes used as a share of the machine's capacity
(0: the machine was ours; 0.5 on two CPUs: one whole CPU went elsewhere). Elsewhere it reports
``None``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_STAT = Path("/proc/stat")


def _busy_s() -> float | None:
    """Seconds of CPU the whole machine spent busy since boot (all CPUs), if known."""
    try:
        fields = _STAT.read_text(encoding="ascii").splitlines()[0].split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _own_s() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class CpuWatch:
    """Started on creation; :meth:`other_share` reads what others used since."""

    def __init__(self) -> None:
        self._busy = _busy_s()
        self._own = _own_s()
        self._wall = time.perf_counter()

    def other_share(self) -> float | None:
        busy = _busy_s()
        wall = time.perf_counter() - self._wall
        cpus = os.cpu_count() or 1
        if busy is None or self._busy is None or wall <= 0:
            return None
        other = (busy - self._busy) - (_own_s() - self._own)
        return round(min(1.0, max(0.0, other / (wall * cpus))), 3)
