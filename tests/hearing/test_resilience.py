"""Under load and across restarts: a flood gets 503 with Retry-After, a restart in the middle
of a burst loses nothing and doubles nothing; remote binding needs a token for everything."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import events, vigil, wait_for
from tests.hearing.live import auth, live, token
from tests.hearing.payloads import SECRET, WORKFLOW_RUN, raw
from vigil.sources.github import sign


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(home: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "VIGIL_HOME": str(home), "VIGIL_GITHUB_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", "up", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: (home / "run" / "daemon.json").exists() or proc.poll() is not None)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    if proc.stderr:
        proc.stderr.close()


@pytest.mark.slow
def test_restart_in_the_middle_of_a_burst_loses_nothing_and_doubles_nothing(home: Path) -> None:
    """Three senders deliver 300 signed webhooks, retrying what got no answer, while the daemon
    is stopped and started again: every delivery is stored exactly once."""
    port = _free_port()
    body = raw(WORKFLOW_RUN)
    signature = sign(SECRET.encode(), body)
    acknowledged: Counter[str] = Counter()
    retries = Counter[str]()
    lock = threading.Lock()

    def sender(worker: int, count: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for n in range(count):
                delivery = f"burst-{worker}-{n}"
                headers = {
                    "X-GitHub-Event": "workflow_run",
                    "X-GitHub-Delivery": delivery,
                    "X-Hub-Signature-256": signature,
                    "Content-Type": "application/json",
                }
                while True:
                    try:
                        answer = client.post("/hooks/github", content=body, headers=headers)
                    except httpx.TransportError:
                        with lock:
                            retries[delivery] += 1
                        time.sleep(0.02)
                        continue
                    if answer.status_code in (200, 201):
                        with lock:
                            acknowledged[delivery] += 1
                        break
                    assert answer.status_code == 503, answer.text
                    time.sleep(0.02)

    proc = _start(home, port)
    threads = [threading.Thread(target=sender, args=(w, 100)) for w in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: sum(acknowledged.values()) >= 90, timeout=60, interval=0.005)
        _stop(proc)  # mid-burst: requests in flight, senders retrying
        proc = _start(home, port)
        for thread in threads:
            thread.join(timeout=120)
    finally:
        _stop(proc)
    assert len(acknowledged) == 300 and set(acknowledged.values()) == {1}
    stored = [e["data"]["delivery"] for e in events(home, "--type", "ci.run.passed")]
    assert len(stored) == 300 and set(stored) == set(acknowledged)
    started = events(home, "--type", "daemon.process.started")
    assert len(started) == 2  # it really was restarted
    assert sum(retries.values()) > 0  # and the senders really met it down


def test_a_flood_gets_503_with_retry_after_and_nothing_partial(home: Path) -> None:
    """With a tiny intake, concurrent requests beyond it are refused at once with 503 and
    Retry-After; every request that got 201 is stored, nothing else."""
    with (home / "config.toml").open("a") as config:
        config.write("\n[api]\nqueue = 1\n")
    key = token(home)
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    batch = [{"type": "load.test.happened", "data": {"n": n}} for n in range(400)]
    with live(home) as (_, state):
        url = f"http://127.0.0.1:{state['port']}"

        def post() -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                for _ in range(4):
                    answer = client.post("/api/events", json=batch, headers=auth(key))
                    with lock:
                        answers.append(answer)

        threads = [threading.Thread(target=post) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    codes = Counter(a.status_code for a in answers)
    assert set(codes) <= {201, 503} and codes[201] > 0 and codes[503] > 0
    busy = next(a for a in answers if a.status_code == 503)
    assert int(busy.headers["retry-after"]) >= 1 and "error" in busy.json()
    stored = events(home, "--type", "load.*", "--limit", "100000")
    assert len(stored) == 400 * codes[201]


def test_non_loopback_needs_the_explicit_flag(home: Path) -> None:
    """Without --allow-remote a non-loopback host is refused with one line naming the flag."""
    done = vigil("up", "--host", "0.0.0.0", "--port", "0", home=home, timeout=30)
    assert done.returncode != 0
    assert "--allow-remote" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_remote_binding_needs_a_token_for_reads_too(home: Path) -> None:
    """Bound with --allow-remote, reads need the token; /healthz and /readyz stay open, and
    GitHub deliveries still prove themselves by signature."""
    key = token(home)
    with live(home, ("--host", "0.0.0.0", "--allow-remote")) as (client, state):
        for path in ("/api/events", "/api/status", "/api/health", "/metrics", "/openapi.json"):
            assert client.get(path).status_code == 401, path
            assert client.get(path, headers=auth(key)).status_code == 200, path
        assert client.get("/healthz").status_code == 200
        unsigned = client.post("/hooks/github", content=b"{}", headers={"X-GitHub-Event": "push"})
        assert unsigned.status_code == 401  # refused by the signature check, not the token
        assert state["host"] == "0.0.0.0"
    assert json.loads(vigil("status", "--json", home=home).stdout)["daemon"]["running"] is False
