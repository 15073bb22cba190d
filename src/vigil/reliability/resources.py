"""What this process uses: CPU, memory, file descriptors, threads, and the size of the home.

Read from Linux's ``/proc/self`` (``stat`` for CPU ticks, threads and resident pages; ``fd`` for
open descriptors, counting the one used to list them). CPU% is CPU seconds over wall seconds
since the previous sample (for the first one, since the process started, from ``starttime`` and
``/proc/uptime``), so it can pass 100% with several busy threads. The home's size comes from
walking it, which is not free, so it is cached for ``home_ttl_s`` (30 s). The daemon samples
every 15 s (see ``MetricsUpkeep``); the sampler reads files only and never raises for a file
that vanishes mid-walk.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vigil.clock import Clock, isoformat

PROC_SELF = Path("/proc/self")


@dataclass(frozen=True, slots=True)
class ResourceSample:
    """One reading of the process's resource use."""

    at: str  # ISO 8601 UTC
    pid: int
    cpu_seconds: float  # user + system since the process started
    cpu_percent: float | None  # since the previous sample (or the start); None if unknown
    rss_bytes: int
    open_fds: int
    threads: int
    home_bytes: int | None  # None when no home is watched

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _ProcStat:
    cpu_seconds: float
    threads: int
    rss_bytes: int
    started_s: float  # seconds after boot


def read_stat(proc: Path = PROC_SELF) -> _ProcStat:
    """CPU seconds, threads and RSS from ``proc/stat`` (see proc(5))."""
    text = (proc / "stat").read_text()
    # The command name (field 2) is in parentheses and may itself hold spaces and ')'.
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): field N of proc(5) is fields[N - 3].
    ticks = os.sysconf("SC_CLK_TCK")
    utime, stime = int(fields[11]), int(fields[12])
    return _ProcStat(
        cpu_seconds=(utime + stime) / ticks,
        threads=int(fields[17]),
        rss_bytes=int(fields[21]) * os.sysconf("SC_PAGE_SIZE"),
        started_s=int(fields[19]) / ticks,
    )


def uptime(proc: Path = PROC_SELF) -> float | None:
    """Seconds since boot (``/proc/uptime``), or None where it cannot be read."""
    try:
        return float((proc.parent / "uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def count_fds(proc: Path = PROC_SELF) -> int:
    return sum(1 for _ in (proc / "fd").iterdir())


def directory_bytes(root: Path) -> int:
    """Total size of the regular files under ``root`` (symlinks not followed; races ignored)."""
    total = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:  # removed while we looked: it no longer counts
                continue
    return total


class ResourceSampler:
    """Samples this process (and the size of ``home``) on demand; blocking, but quick."""

    def __init__(
        self,
        clock: Clock,
        home: Path | None = None,
        *,
        proc: Path = PROC_SELF,
        home_ttl_s: float = 30.0,
    ) -> None:
        self._clock = clock
        self._home = home
        self._proc = proc
        self._home_ttl_s = home_ttl_s
        self._home_cache: tuple[float, int] | None = None  # (monotonic when measured, bytes)
        self._previous: tuple[float, float] | None = None  # (monotonic, cpu seconds)

    def sample(self) -> ResourceSample:
        stat = read_stat(self._proc)
        moment = self._clock.monotonic()
        if self._previous is not None:  # since the previous sample
            elapsed, spent = moment - self._previous[0], stat.cpu_seconds - self._previous[1]
        else:  # the first: since the process started
            booted = uptime(self._proc)
            elapsed = booted - stat.started_s if booted is not None else 0.0
            spent = stat.cpu_seconds
        percent = round(max(spent, 0.0) / elapsed * 100, 2) if elapsed > 0 else None
        self._previous = (moment, stat.cpu_seconds)
        return ResourceSample(
            at=isoformat(self._clock.now()),
            pid=os.getpid(),
            cpu_seconds=round(stat.cpu_seconds, 3),
            cpu_percent=percent,
            rss_bytes=stat.rss_bytes,
            open_fds=count_fds(self._proc),
            threads=stat.threads,
            home_bytes=self.home_bytes(),
        )

    def home_bytes(self) -> int | None:
        """The home's size, walked at most once per ``home_ttl_s``."""
        if self._home is None:
            return None
        moment = self._clock.monotonic()
        if self._home_cache is None or moment - self._home_cache[0] >= self._home_ttl_s:
            self._home_cache = (moment, directory_bytes(self._home))
        return self._home_cache[1]
