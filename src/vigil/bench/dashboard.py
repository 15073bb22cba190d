"""Bench section ``dashboard``: ``GET /`` on a real daemon with 10,000 events stored.

The state holds 10,000 events of every kind the dashboard reads (file changes, commits, runs,
deploys, a few hundred notices with their decisions, 30 real diagnoses with known fixes and
suspects, proposals), so every panel has something to render. Then ``GET /`` is asked
sequentially over one keep-alive connection, interleaved with ``GET /healthz`` (the same-run
baseline: the daemon's cheapest answer over the same HTTP stack). Target: p95 of ``/`` under
300 ms. When Chromium and Playwright are installed (``make test`` / ``make bench`` put them
there) the full page load in a browser (HTML, stylesheet, script, to the ``load`` event) is
reported too, as a figure.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result, vigil_home
from vigil.clock import SystemClock
from vigil.events.model import new_event

EVENTS = 10_000
TARGET_MS = 300.0
WAIT_S = 60.0
CHROMIUM = Path("/usr/bin/chromium")
PYTEST_TAIL = """\
=================================== FAILURES ===================================
___________________________________ test_add ___________________________________

    def test_add():
>       assert add(2, 3) == 5
E       assert -1 == 5

tests/test_calc_{n}.py:{line}: AssertionError
=========================== short test summary info ============================
FAILED tests/test_calc_{n}.py::test_add - assert -1 == 5
1 failed in 0.04s
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fill(home: Path, total: int) -> dict[str, int]:
    """Store ``total`` events through Vigil's own log (redaction and all), 30 of them real
    failures diagnosed by the real triage, some with a known fix in the knowledge base."""
    from vigil.app import Vigil
    from vigil.config import load_settings
    from vigil.events import catalog

    clock = SystemClock()
    with vigil_home(home), Vigil(load_settings({"home": home})) as vigil:
        vigil.on_stored = lambda: None
        vigil.ensure_schema()
        for n in range(10):
            vigil.knowledge.add(
                "fix",
                f"Fix add in test_calc_{n}",
                body="Return a + b, not a - b.",
                fingerprints=[],
            )
        failures = 30
        for n in range(failures):
            failed = new_event(
                catalog.BUILD_RUN_FAILED,
                {
                    "command": f"pytest tests/test_calc_{n % 10}.py",
                    "cwd": str(home),
                    "exit_code": 1,
                    "duration_ms": 900.0,
                    "output_tail": PYTEST_TAIL.format(n=n % 10, line=5 + n),
                    "git": None,
                },
                clock=clock,
                source="vigil.cli",
                subject=f"pytest tests/test_calc_{n % 10}.py",
            )
            vigil.publish_diagnosed(failed)
        kinds = (
            "file.changed",
            "git.commit.created",
            "build.run.started",
            "deploy.release.finished",
        )
        batch = []
        notices = 300
        rest = total - vigil.log.count() - notices
        for n in range(rest):
            kind = kinds[n % len(kinds)]
            batch.append(
                new_event(
                    kind,
                    {"paths": [f"src/module_{n % 97}.py"], "n": n, "title": f"event {n}"},
                    clock=clock,
                    source="vigil.bench",
                    subject=f"subject-{n % 13}",
                )
            )
            if len(batch) == 1000:
                vigil.log.append(batch)
                batch = []
        for n in range(notices):
            batch.append(
                new_event(
                    catalog.NOTIFICATION_REQUESTED,
                    {
                        "title": f"Notice {n}",
                        "body": "something happened",
                        "severity": ("info", "warning", "error")[n % 3],
                    },
                    clock=clock,
                    source="vigil.bench",
                )
            )
        vigil.log.append(batch)
        for n in range(3):
            vigil.control.propose(
                "run_command",
                {"argv": ["echo", str(n)], "cwd": str(home)},
                why="bench",
                proposer="person:bench",
            )
        return {"events": vigil.log.count(), "diagnoses": failures, "notices": notices}


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vigil up exited {proc.returncode} before it was ready")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the daemon was not ready within {WAIT_S:g} s")


def _settled(home: Path, port: int) -> None:
    """Wait until the daemon's consumers have handled what was stored before it started."""
    import httpx

    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=5).json()
        handled = [c["handled"] for c in status.get("consumers", {}).values()]
        time.sleep(1.0)
        again = httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=5).json()
        if handled == [c["handled"] for c in again.get("consumers", {}).values()]:
            return
    raise RuntimeError("the daemon's consumers did not settle")


def _browser_load(url: str, rounds: int) -> dict[str, Any] | str:
    """The page's load in Chromium (navigation start to the load event), or why not."""
    if not CHROMIUM.exists():
        return "Chromium is not installed (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright is not installed (the dev extra)"
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    samples: list[int] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_page()
            page.goto(url)  # warm
            for _ in range(rounds):
                page.goto(url, wait_until="load")
                took = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                samples.append(int(float(took) * 1_000_000))
        finally:
            browser.close()
    return stats.latency(samples)


def run(ctx: Context) -> Result:
    import httpx

    total = ctx.size(EVENTS, 2000)
    rounds = ctx.size(60, 10)
    home = ctx.directory("dashboard-home")
    (home / "config.toml").write_text(
        '[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n\n[chores]\nenabled = false\n'
    )
    ctx.say(f"dashboard: storing {total} events")
    stored = _fill(home, total)
    port = _free_port()
    command = [str(ctx.python), "-m", "vigil", "up", "--port", str(port)]
    daemon = subprocess.Popen(
        command, env=ctx.env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    page_ns: list[int] = []
    health_ns: list[int] = []
    sizes: list[int] = []
    try:
        _wait_ready(port, daemon)
        _settled(home, port)
        ctx.say(f"dashboard: GET / and GET /healthz, {rounds} times each")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for path in ("/", "/healthz"):
                client.get(path)  # warm: imports, caches
            for _ in range(rounds):
                started = time.perf_counter_ns()
                answer = client.get("/")
                page_ns.append(time.perf_counter_ns() - started)
                if answer.status_code != 200:
                    raise RuntimeError(f"GET / answered {answer.status_code}")
                sizes.append(len(answer.content))
                started = time.perf_counter_ns()
                client.get("/healthz")
                health_ns.append(time.perf_counter_ns() - started)
            count = client.get("/api/status").json()
        ctx.say("dashboard: the page in Chromium")
        browser = _browser_load(f"http://127.0.0.1:{port}/", ctx.size(20, 5))
    finally:
        if daemon.poll() is None:
            daemon.terminate()
            try:
                daemon.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
    page = stats.latency(page_ns)
    health = stats.latency(health_ns)
    result = Result()
    result.figures["page"] = {**page, "bytes_median": sorted(sizes)[len(sizes) // 2]}
    result.figures["stored"] = stored
    result.figures["browser_load"] = browser
    result.figures["consumers"] = json.loads(json.dumps(count.get("consumers", {})))
    result.baseline["healthz"] = health
    result.ratio["page_p50_vs_healthz_p50"] = round(page["p50"] / health["p50"], 1)
    result.checks.append(Check("page.p95_ms", page["p95"], "<", TARGET_MS))
    result.notes.append(
        "GET / renders every panel on the server: the newest 50 events, 4 triage cards, health "
        "with 24 h of breaker and component changes, proposals, 25 notices, latency charts."
    )
    return result
