"""Probes: real HTTP, TCP and command checks; failed/recovered transitions behind a breaker."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli.helpers import daemon, events, vigil, wait_for
from vigil.errors import ConfigError
from vigil.events.model import Event
from vigil.reliability import BreakerRegistry
from vigil.sources.probe import (
    ProbeFailure,
    ProbeRunner,
    ProbeSpec,
    ProbeStates,
    check,
    parse_probes,
)
from vigil.storage import Database
from vigil.testing import FakeClock


@contextmanager
def web(status: int = 200, body: bytes = b"all ok") -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_http_probe_checks_status_and_body() -> None:
    """An http probe passes on the expected status and body, fails on anything else."""
    with web(200, b"status: ok") as url:
        await check(ProbeSpec("a", "http", url, expect_body="ok"))
        with pytest.raises(ProbeFailure, match="does not contain"):
            await check(ProbeSpec("a", "http", url, expect_body="green"))
        with pytest.raises(ProbeFailure, match="status 200, expected 204"):
            await check(ProbeSpec("a", "http", url, expect_status=204))
    with web(503) as url, pytest.raises(ProbeFailure, match="status 503"):
        await check(ProbeSpec("a", "http", url))
    with pytest.raises(ProbeFailure):
        await check(ProbeSpec("a", "http", f"http://127.0.0.1:{closed_port()}/", timeout_s=2))


async def test_tcp_and_command_probes() -> None:
    """tcp connects or fails; a command passes on exit 0, fails on another code or a hang."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        await check(ProbeSpec("t", "tcp", f"127.0.0.1:{listener.getsockname()[1]}"))
    with pytest.raises(ProbeFailure, match="cannot connect"):
        await check(ProbeSpec("t", "tcp", f"127.0.0.1:{closed_port()}"))
    await check(ProbeSpec("c", "command", "true"))
    with pytest.raises(ProbeFailure, match="exit 3: broken"):
        await check(ProbeSpec("c", "command", "sh -c 'echo broken >&2; exit 3'"))
    with pytest.raises(ProbeFailure, match="did not finish"):
        await check(ProbeSpec("c", "command", "sleep 10", timeout_s=0.2))
    with pytest.raises(ProbeFailure, match="cannot start"):
        await check(ProbeSpec("c", "command", "/no/such/program"))


def test_probe_config_is_validated() -> None:
    """[[probes]] need a name, a known kind and a target of the kind's shape."""
    (spec,) = parse_probes([{"name": "db", "kind": "tcp", "target": "localhost:5432"}])
    assert spec.interval_s == 30 and spec.fail_after == 3
    bad: list[dict[str, object]] = [
        {"kind": "tcp", "target": "h:1"},
        {"name": "x", "kind": "udp", "target": "h:1"},
        {"name": "x", "kind": "tcp", "target": "nohost"},
        {"name": "x", "kind": "http", "target": "ftp://x"},
        {"name": "x", "kind": "tcp", "target": "h:1", "expect_body": "ok"},
        {"name": "x", "kind": "command", "target": "echo 'unclosed"},
        {"name": "x", "kind": "tcp", "target": "h:1", "interval_s": 0},
        {"name": "x", "kind": "tcp", "target": "h:1", "colour": "red"},
    ]
    for table in bad:
        with pytest.raises(ConfigError):
            parse_probes([table])
    with pytest.raises(ConfigError, match="twice"):
        parse_probes([{"name": "x", "kind": "tcp", "target": "h:1"}] * 2)


def _runner(
    tmp_path: Path, spec: ProbeSpec, clock: FakeClock, published: list[Event]
) -> tuple[ProbeRunner, Database, Callable[[], ProbeRunner]]:
    db = Database(tmp_path / "v.db")
    registry = BreakerRegistry(clock=clock)
    states = ProbeStates(db)

    async def publish(events: Sequence[Event]) -> None:
        published.extend(events)

    async def save(write: Callable[[], None]) -> None:
        write()

    def make() -> ProbeRunner:
        return ProbeRunner(
            spec,
            registry.get(f"probe:{spec.name}", spec.policy()),
            publish,
            clock,
            states,
            save,
            states.load().get(spec.name),
        )

    return make(), db, make


async def test_failed_after_n_recovered_after_m_and_the_breaker_spares_the_service(
    tmp_path: Path,
) -> None:
    """probe.failed after fail_after failures, once; while the breaker is open no check runs;
    probe.recovered after recover_after successes; a restart neither repeats nor forgets."""
    flag = tmp_path / "up"
    calls = tmp_path / "calls"
    target = f"sh -c 'echo x >> {calls}; test -f {flag}'"
    spec = ProbeSpec("svc", "command", target, interval_s=10, fail_after=2, recover_after=2)
    clock = FakeClock()
    published: list[Event] = []
    runner, db, make = _runner(tmp_path, spec, clock, published)
    for _ in range(2):
        await runner.tick()
    assert [e.type for e in published] == ["probe.failed"]
    assert published[0].data["name"] == "svc" and "exit 1" in published[0].data["error"]
    for _ in range(3):  # the breaker opens after fail_after + 2 consecutive failures
        await runner.tick()
    ran = len(calls.read_text().splitlines())
    assert ran == 4 and runner.report()["breaker"] == "open"
    assert "not checked" in (runner.report()["last_error"] or "")
    restarted = make()  # the daemon restarts: the probe is still failed, nothing repeated
    assert restarted.report()["status"] == "failed"
    flag.write_text("up")
    clock.advance(11)  # the open period (interval_s) is over: the next check is the probe
    await restarted.tick()
    assert [e.type for e in published] == ["probe.failed"]
    await restarted.tick()
    assert [e.type for e in published] == ["probe.failed", "probe.recovered"]
    assert published[1].data["down_s"] == pytest.approx(11, abs=0.01)
    assert restarted.report()["status"] == "ok"
    db.close()


def test_probes_run_in_the_daemon_and_show_in_health(home: Path) -> None:
    """A configured probe runs on its schedule; probe.failed is published and `vigil health`
    shows its state."""
    port = closed_port()
    with (home / "config.toml").open("a") as config:
        config.write(
            f'\n[[probes]]\nname = "db"\nkind = "tcp"\ntarget = "127.0.0.1:{port}"\n'
            "interval_s = 0.2\ntimeout_s = 1\nfail_after = 2\n"
        )
    with daemon(home):
        (failed,) = wait_for(lambda: events(home, "--type", "probe.failed"))
        report = json.loads(vigil("health", "--json", home=home).stdout)
    assert failed["data"]["name"] == "db" and failed["data"]["kind"] == "tcp"
    assert failed["data"]["target"] == f"127.0.0.1:{port}" and failed["data"]["error"]
    (probe,) = report["probes"]
    assert probe["name"] == "db" and probe["status"] == "failed"
    assert any(c["name"] == "probe.db" for c in report["components"])


def test_bad_probe_config_stops_the_start_with_one_line(home: Path) -> None:
    """A malformed [[probes]] table is one clear error from `vigil up`."""
    with (home / "config.toml").open("a") as config:
        config.write('\n[[probes]]\nname = "x"\nkind = "smoke"\ntarget = "y"\n')
    done = vigil("up", "--port", "0", home=home, timeout=30)
    assert done.returncode != 0 and "kind must be one of" in done.stderr
    assert "Traceback" not in done.stderr
