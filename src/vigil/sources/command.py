"""``vigil run``'s engine: run a command, pass its output through live, keep a bounded tail.

When our stdout is a terminal the command gets a pseudo-terminal for stdout and stderr, so it
keeps its colours, progress bars and line buffering; stdin stays the real terminal, so
interactive commands still work. Otherwise stdout and stderr are two pipes copied to our own two
streams as they arrive. Either way the last ``tail_bytes`` of the output are kept for the event.

Ctrl-C reaches the whole foreground process group (the command included), so we ignore SIGINT
and SIGTERM while the command runs, forward SIGTERM, and report the command's own exit status.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import selectors
import shlex
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

CANNOT_START = 127
_READ = 65536


@dataclass(frozen=True, slots=True)
class RunResult:
    exit_code: int
    duration_ms: float
    output_tail: str
    output_bytes: int
    truncated: bool
    error: str | None = None  # why the command could not start
    interrupted: bool = False  # the user (or a SIGTERM) stopped it


class _Tail:
    """The last ``limit`` bytes written, cheaply."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 1024)
        self.buffer = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.buffer += chunk
        if len(self.buffer) > 2 * self.limit:
            del self.buffer[: len(self.buffer) - self.limit]

    def text(self) -> tuple[str, bool]:
        data = bytes(self.buffer[-self.limit :])
        truncated = self.total > len(data)
        if truncated:
            newline = data.find(b"\n")
            if 0 <= newline < 4096:
                data = data[newline + 1 :]
        return data.decode("utf-8", "replace").replace("\r\n", "\n"), truncated


def command_line(argv: Sequence[str]) -> str:
    return shlex.join(argv)


@contextlib.contextmanager
def _shielded(child: subprocess.Popen[bytes], received: list[int]) -> Iterator[None]:
    """Note SIGINT (the child gets its own from the terminal) and forward SIGTERM."""

    def note(signum: int, frame: object) -> None:
        received.append(signum)

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    try:
        old_int = signal.signal(signal.SIGINT, note)
        old_term = signal.signal(signal.SIGTERM, forward)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def _status(code: int) -> int:
    return 128 - code if code < 0 else code


def _write(stream: BinaryIO, chunk: bytes) -> None:
    try:
        stream.write(chunk)
        stream.flush()
    except (BrokenPipeError, ValueError):
        pass


def run_command(
    argv: Sequence[str],
    *,
    cwd: str,
    tail_bytes: int = 64 * 1024,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    use_pty: bool | None = None,
) -> RunResult:
    """Run ``argv`` in ``cwd`` with live pass-through; never raises for a command's failure."""
    out = stdout if stdout is not None else sys.stdout.buffer
    err = stderr if stderr is not None else sys.stderr.buffer
    if use_pty is None:
        use_pty = out.isatty() if hasattr(out, "isatty") else False
    tail = _Tail(tail_bytes)
    received: list[int] = []
    started = time.monotonic()
    try:
        if use_pty:
            code = _run_pty(argv, cwd, out, tail, received)
        else:
            code = _run_pipes(argv, cwd, out, err, tail, received)
    except OSError as exc:
        message = f"cannot run {argv[0]!r}: {exc.strerror or exc}"
        tail.add(message.encode() + b"\n")
        text, _ = tail.text()
        elapsed = (time.monotonic() - started) * 1000
        return RunResult(CANNOT_START, elapsed, text, tail.total, False, error=message)
    text, truncated = tail.text()
    elapsed = (time.monotonic() - started) * 1000
    interrupted = bool(received) or code in (128 + signal.SIGINT, 128 + signal.SIGTERM)
    return RunResult(code, elapsed, text, tail.total, truncated, interrupted=interrupted)


def _run_pipes(
    argv: Sequence[str], cwd: str, out: BinaryIO, err: BinaryIO, tail: _Tail, received: list[int]
) -> int:
    child = subprocess.Popen(list(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    with _shielded(child, received), selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ, out)
        selector.register(child.stderr, selectors.EVENT_READ, err)
        open_streams = 2
        while open_streams:
            for key, _ in selector.select():
                chunk = os.read(key.fd, _READ)
                if not chunk:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                tail.add(chunk)
                _write(key.data, chunk)
        return _status(child.wait())


def _copy_winsize(target_fd: int) -> None:
    for fd in (sys.stdout.fileno(), sys.stdin.fileno()):
        try:
            size = fcntl.ioctl(fd, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
        except (OSError, ValueError):
            continue
        fcntl.ioctl(target_fd, termios.TIOCSWINSZ, size)
        return


def _run_pty(argv: Sequence[str], cwd: str, out: BinaryIO, tail: _Tail, received: list[int]) -> int:
    import pty

    master, slave = pty.openpty()
    try:
        _copy_winsize(slave)
        child = subprocess.Popen(list(argv), cwd=cwd, stdout=slave, stderr=slave)
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    os.close(slave)
    try:
        with _shielded(child, received), selectors.DefaultSelector() as selector:
            selector.register(master, selectors.EVENT_READ)
            while True:
                ready = selector.select(timeout=0.2)
                if not ready and child.poll() is not None:
                    break  # exited; a grandchild may still hold the terminal open
                if not ready:
                    continue
                try:
                    chunk = os.read(master, _READ)
                except OSError as exc:
                    if exc.errno == errno.EIO:
                        break  # every writer closed the terminal
                    raise
                if not chunk:
                    break
                tail.add(chunk)
                _write(out, chunk)
            return _status(child.wait())
    finally:
        os.close(master)
