"""Real files under a live follower: appends, rotation, truncation, restarts, bad input."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vigil.errors import SourceError
from vigil.parsing.loglines import LogRecord
from vigil.sources.logs import MAX_LINE_BYTES, FileFollower, Position
from vigil.testing import eventually


class Collector:
    """What a follower handed on: records and the position after each batch."""

    def __init__(self) -> None:
        self.records: list[LogRecord] = []
        self.positions: list[Position] = []

    async def __call__(self, records: list[LogRecord], position: Position) -> None:
        self.records += records
        self.positions.append(position)

    @property
    def texts(self) -> list[str]:
        return [r.raw for r in self.records]


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


@contextlib.asynccontextmanager
async def following(
    path: Path, collector: Collector, **options: object
) -> AsyncIterator[FileFollower]:
    options.setdefault("quiet_s", 0.01)
    follower = FileFollower(path, collector, **options)  # type: ignore[arg-type]
    task = asyncio.create_task(follower.run())
    try:
        await eventually(lambda: follower.ready.is_set() or task.done())
        if task.done():
            task.result()
        yield follower
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_appended_lines_arrive_and_old_ones_are_skipped(tmp_path: Path) -> None:
    """Following starts at the end of an existing file (like tail -F) and hands on new lines."""
    log = tmp_path / "app.log"
    log.write_text("old line\n")
    got = Collector()
    async with following(log, got):
        append(log, "first\nsecond\n")
        await eventually(lambda: got.texts == ["first", "second"])
    assert got.positions[-1].offset == log.stat().st_size


async def test_a_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    """Half a line is not a record; it becomes one when the rest arrives."""
    log = tmp_path / "app.log"
    log.write_text("")
    got = Collector()
    async with following(log, got):
        append(log, "hel")
        await asyncio.sleep(0.1)
        assert got.texts == []
        append(log, "lo world\n")
        await eventually(lambda: got.texts == ["hello world"])


async def test_rotation_by_rename_loses_nothing(tmp_path: Path) -> None:
    """logrotate's rename: the old file is read to its end (late writes too), then the new one."""
    log = tmp_path / "app.log"
    log.write_text("")
    got = Collector()
    async with following(log, got):
        append(log, "a1\n")
        await eventually(lambda: got.texts == ["a1"])
        with log.open("a") as old:  # the writer still holds the old file
            log.rename(tmp_path / "app.log.1")
            old.write("a2 late\n")
            old.flush()
            log.write_text("b1\n")
            append(log, "b2\n")
        await eventually(lambda: got.texts == ["a1", "a2 late", "b1", "b2"])


async def test_copytruncate_starts_again_from_zero(tmp_path: Path) -> None:
    """A file cut back to empty is read again from its start."""
    log = tmp_path / "app.log"
    log.write_text("")
    got = Collector()
    async with following(log, got):
        append(log, "before 1\nbefore 2\n")
        await eventually(lambda: len(got.texts) == 2)
        (tmp_path / "app.log.1").write_bytes(log.read_bytes())
        with log.open("r+") as handle:
            handle.truncate(0)
        await asyncio.sleep(0.05)
        append(log, "after\n")
        await eventually(lambda: got.texts[-1:] == ["after"])
    assert got.texts == ["before 1", "before 2", "after"]


async def test_a_file_that_appears_later_and_one_that_disappears(tmp_path: Path) -> None:
    """A missing file is waited for and read from its start; deleted and recreated, too."""
    log = tmp_path / "later.log"
    notices: list[str] = []
    got = Collector()
    async with following(log, got, notice=notices.append):
        assert any("does not exist" in n for n in notices)
        log.write_text("born\n")
        await eventually(lambda: got.texts == ["born"])
        log.unlink()
        await asyncio.sleep(0.05)
        log.write_text("reborn\n")
        await eventually(lambda: got.texts == ["born", "reborn"])


async def test_multi_line_records_are_joined(tmp_path: Path) -> None:
    """A stack trace arrives as one record with its first line."""
    log = tmp_path / "app.log"
    log.write_text("")
    got = Collector()
    async with following(log, got):
        append(log, "ERROR boom\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)\nINFO next\n")
        await eventually(lambda: len(got.records) == 2)
    assert got.records[0].lines == 3 and got.records[0].level == "error"


async def test_a_continuation_written_a_moment_later_still_joins(tmp_path: Path) -> None:
    """A record stays open for the quiet period: a stack frame written 5 ms after its first
    line joins it, whatever wake-ups the kernel sends in between."""
    log = tmp_path / "app.log"
    log.write_text("")
    got = Collector()
    async with following(log, got, quiet_s=0.2):
        with log.open("a", buffering=1) as handle:
            handle.write("ERROR boom\n")
            await asyncio.sleep(0.005)
            handle.write("\tat a.B.c(B.java:1)\n")
        await eventually(lambda: len(got.records) == 1)
    assert got.records[0].lines == 2


async def test_restart_resumes_exactly_where_it_stopped(tmp_path: Path) -> None:
    """The position of the last batch resumes the next follower: nothing lost, nothing twice,
    even when the file was rotated while no follower ran."""
    log = tmp_path / "app.log"
    log.write_text("")
    first = Collector()
    async with following(log, first):
        append(log, "one\ntwo\n")
        await eventually(lambda: first.texts == ["one", "two"])
    append(log, "three\n")  # written while down
    log.rename(tmp_path / "app.log.1")
    log.write_text("four\n")
    second = Collector()
    async with following(log, second, position=first.positions[-1]):
        await eventually(lambda: second.texts == ["three", "four"])
        append(log, "five\n")
        await eventually(lambda: second.texts == ["three", "four", "five"])


async def test_a_huge_line_is_cut_and_binary_garbage_is_cleaned(tmp_path: Path) -> None:
    """A 10 MB line comes as its head marked truncated; bytes that are not text are cleaned."""
    log = tmp_path / "app.log"
    log.write_text("")
    got = Collector()
    async with following(log, got):
        with log.open("ab") as handle:
            handle.write(b"x" * (10 * 1024 * 1024) + b"\n")
            handle.write(b"\x00\xff\xfe garbage \x01\x02 end\n")
            handle.write(b"normal\n")
        await eventually(lambda: len(got.records) == 3, timeout=30)
    huge, garbage, normal = got.records
    assert huge.truncated and len(huge.raw) < MAX_LINE_BYTES
    assert "\x00" not in garbage.raw and "garbage" in garbage.raw
    assert normal.raw == "normal"


async def test_a_directory_or_a_missing_directory_stops_with_one_error(tmp_path: Path) -> None:
    """A path that can never be a log file raises one clear SourceError."""
    with pytest.raises(SourceError, match="is a directory"):
        await FileFollower(tmp_path, Collector()).run()
    with pytest.raises(SourceError, match="does not exist"):
        await FileFollower(tmp_path / "nope" / "x.log", Collector()).run()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: no permission to deny")
async def test_an_unreadable_file_is_reported_and_retried(tmp_path: Path) -> None:
    """Without read permission: one notice, and reading starts once permission is given."""
    log = tmp_path / "secret.log"
    log.write_text("")
    log.chmod(0)
    notices: list[str] = []
    got = Collector()
    async with following(log, got, notice=notices.append, from_start=True):
        assert any("permission denied" in n for n in notices)
        log.chmod(0o644)
        append(log, "now readable\n")
        await eventually(lambda: got.texts == ["now readable"])


async def test_the_directory_going_away_stops_with_one_error(tmp_path: Path) -> None:
    """Removing the watched directory ends the follower with a SourceError, after it read
    what was there."""
    directory = tmp_path / "logs"
    directory.mkdir()
    log = directory / "app.log"
    log.write_text("")
    got = Collector()
    follower = FileFollower(log, got, quiet_s=0.01)
    task = asyncio.create_task(follower.run())
    await eventually(follower.ready.is_set)
    append(log, "last words\n")
    await eventually(lambda: got.texts == ["last words"])
    log.unlink()
    directory.rmdir()
    with pytest.raises(SourceError, match="directory was removed"):
        await asyncio.wait_for(task, timeout=10)


UNPRIVILEGED = """
import asyncio, sys
from pathlib import Path
from vigil.sources.logs import FileFollower

async def main():
    async def show(records, position):
        for record in records:
            print("record", record.raw, flush=True)
    follower = FileFollower(Path(sys.argv[1]), show, from_start=True, quiet_s=0.01,
                            notice=lambda text: print("notice", text, flush=True))
    task = asyncio.create_task(follower.run())
    await asyncio.sleep(30)
    task.cancel()

asyncio.run(main())
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to run a follower without the right to read everything",
)
def test_an_unreadable_file_for_a_follower_without_dac_override(tmp_path: Path) -> None:
    """A file without read permission is one notice, and is read as soon as permission is
    given (root reads everything, so the follower runs without CAP_DAC_OVERRIDE)."""
    import subprocess
    import sys

    log = tmp_path / "secret.log"
    log.write_text("")
    log.chmod(0)
    drop = "-dac_override,-dac_read_search"
    setpriv = ["setpriv", "--bounding-set", drop, "--inh-caps", drop, "--"]
    child = subprocess.Popen(
        [*setpriv, sys.executable, "-c", UNPRIVILEGED, str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first.startswith("notice") and "permission denied" in first, first + (
            child.stderr.read() if child.stderr else ""
        )
        log.chmod(0o644)
        with log.open("a") as handle:
            handle.write("now readable\n")
        assert child.stdout.readline() == "record now readable\n"
    finally:
        child.kill()
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()
