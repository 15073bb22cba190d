"""Fault test: a breaker in front of a real HTTP server on 127.0.0.1 that starts to hang.

The server is the standard library's ``ThreadingHTTPServer`` in a thread; the client speaks
HTTP/1.1 over asyncio streams. Real time throughout (short periods), bounded well under 10 s.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from vigil.errors import CircuitOpen
from vigil.reliability import BreakerPolicy, CircuitBreaker, State

CALL_TIMEOUT = 0.2
OPEN_PERIOD = 0.3


class FlakyServer(ThreadingHTTPServer):
    """Answers ``GET`` with ``pong``; while ``hang`` is set, each request waits for ``release``."""

    daemon_threads = True

    def __init__(self) -> None:
        self.hang = threading.Event()
        self.release = threading.Event()
        self.requests = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up closed its socket: expected here, not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    server: FlakyServer

    def do_GET(self) -> None:
        self.server.requests += 1
        if self.server.hang.is_set():
            self.server.release.wait(5)
        try:
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"pong")
        except OSError:
            pass  # the client timed out and hung up

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[FlakyServer]:
    flaky = FlakyServer()
    thread = threading.Thread(
        target=flaky.serve_forever, kwargs={"poll_interval": 0.05}, name="flaky-http"
    )
    thread.start()
    try:
        yield flaky
    finally:
        flaky.release.set()
        flaky.shutdown()
        flaky.server_close()
        thread.join(5)


async def ping(port: int) -> str:
    """One HTTP/1.1 GET over asyncio streams; ``ConnectionError`` unless 200."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200") and not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"unexpected answer: {head[:40]!r}")
    return body.decode()


async def timed(breaker: CircuitBreaker, port: int) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        return await breaker.acall(ping, port), time.perf_counter() - started
    except (TimeoutError, CircuitOpen) as exc:
        return type(exc).__name__, time.perf_counter() - started


async def test_a_hanging_server_is_cut_off_then_refused_then_probed_back(
    server: FlakyServer,
) -> None:
    """While the server hangs, callers are cut off at the call timeout (failures), the breaker
    opens and further calls are refused at once without reaching the server; when the server
    answers again, the half-open probe closes the breaker."""
    port = server.server_address[1]
    policy = BreakerPolicy(
        failures=3, timeout=CALL_TIMEOUT, open_base=OPEN_PERIOD, probe_timeout=1.0
    )
    breaker = CircuitBreaker("flaky-http", policy)
    changes: list[tuple[str, str]] = []
    breaker.on_change(lambda name, old, new, reason: changes.append((new, reason)))

    assert await breaker.acall(ping, port) == "pong"

    server.hang.set()
    outcomes = await asyncio.gather(*(timed(breaker, port) for _ in range(3)))
    assert [name for name, _ in outcomes] == ["TimeoutError"] * 3
    assert all(CALL_TIMEOUT * 0.9 <= seconds < CALL_TIMEOUT + 0.3 for _, seconds in outcomes)
    assert breaker.state is State.OPEN
    assert changes[0][0] == "open" and "timed out" in changes[0][1]

    seen_by_server = server.requests
    for _ in range(20):
        name, seconds = await timed(breaker, port)
        assert name == "CircuitOpen" and seconds < 0.05
    assert server.requests == seen_by_server  # refused calls never reach the server

    server.hang.clear()
    server.release.set()
    await asyncio.sleep(breaker.retry_after() + 0.02)
    assert await breaker.acall(ping, port) == "pong"  # the probe
    assert breaker.state is State.CLOSED
    assert [new for new, _ in changes] == ["open", "half-open", "closed"]
