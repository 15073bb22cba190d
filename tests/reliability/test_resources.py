"""Resource sampling from /proc: CPU, RSS, descriptors, threads and the size of the home."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from vigil.reliability.resources import ResourceSampler, directory_bytes, read_stat
from vigil.testing import FakeClock


def test_sampling_this_process_gives_sane_numbers(tmp_path: Path) -> None:
    """A sample of the test process has RSS, descriptors, threads and its own pid."""
    empty = tmp_path / "empty-home"
    empty.mkdir()
    sampler = ResourceSampler(FakeClock(), empty)
    sample = sampler.sample()
    assert sample.pid == os.getpid()
    assert sample.rss_bytes > 1_000_000
    assert sample.open_fds > 0
    assert sample.threads >= 1
    assert sample.cpu_seconds > 0
    assert sample.cpu_percent is not None  # the first: since the process started
    assert 0 < sample.cpu_percent <= 100 * (os.cpu_count() or 1) + 50
    assert sample.home_bytes == 0


def test_thread_count_follows_the_process() -> None:
    """A started thread shows up in the next sample's thread count."""
    sampler = ResourceSampler(FakeClock())
    before = sampler.sample().threads
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert sampler.sample().threads == before + 1
    finally:
        release.set()
        worker.join()


def test_cpu_percent_is_cpu_time_over_wall_time_since_the_last_sample(tmp_path: Path) -> None:
    """CPU% divides the CPU seconds spent between samples by the clock's elapsed seconds; the
    first sample's, by the seconds since the process started."""
    proc = tmp_path / "self"
    stat = proc / "stat"
    fd = proc / "fd"
    fd.mkdir(parents=True)
    (tmp_path / "uptime").write_text("11.00 20.00\n")  # the process started 1 s after boot
    for name in ("0", "1", "2"):
        (fd / name).touch()
    ticks = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")

    def write(utime: int, stime: int) -> None:
        # comm may hold spaces and parentheses; fields after it follow proc(5)
        rest = ["S", "1", "1", "1", "0", "-1", "0", "0", "0", "0", "0", str(utime), str(stime)]
        rest += ["0", "0", "20", "0", "7", "0", str(ticks), "4096", "250", "0"]
        stat.write_text(f"42 (vigil (up) x) {' '.join(rest)}\n")

    clock = FakeClock()
    sampler = ResourceSampler(clock, proc=proc)
    write(utime=1 * ticks, stime=1 * ticks)
    first = sampler.sample()
    assert (first.cpu_seconds, first.threads, first.rss_bytes) == (2.0, 7, 250 * page)
    assert first.open_fds == 3
    assert first.cpu_percent == 20.0  # 2 CPU seconds in the 10 s since it started
    clock.advance(10)
    write(utime=2 * ticks, stime=2 * ticks)  # two more CPU seconds in ten wall seconds
    assert sampler.sample().cpu_percent == 20.0
    assert read_stat(proc).threads == 7


def test_home_size_is_walked_and_cached_for_thirty_seconds(tmp_path: Path) -> None:
    """The home's size counts every file below it, and is walked again only after 30 s."""
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "vigil.db").write_bytes(b"x" * 1000)
    (home / "logs" / "vigil.log").write_bytes(b"y" * 234)
    (home / "link").symlink_to(home / "vigil.db")  # not followed, not counted
    assert directory_bytes(home) == 1234
    clock = FakeClock()
    sampler = ResourceSampler(clock, home)
    assert sampler.home_bytes() == 1234
    (home / "logs" / "more.log").write_bytes(b"z" * 66)
    clock.advance(29)
    assert sampler.home_bytes() == 1234
    clock.advance(1)
    assert sampler.home_bytes() == 1300


def test_a_missing_home_has_no_size(tmp_path: Path) -> None:
    """A home that does not exist (yet) weighs nothing rather than failing the sample."""
    assert directory_bytes(tmp_path / "absent") == 0
