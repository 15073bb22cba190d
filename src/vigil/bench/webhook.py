"""webhook: signed GitHub deliveries into a real daemon, under wrk, beside a bare endpoint.

A real ``vigil up`` on a temporary home receives ``POST /hooks/github`` from wrk (one thread,
16 keep-alive connections) for 30 s (3 s with ``--quick``): the real ``workflow_run.completed``
payload (shared/data, 22 KB; a passing run, so ``ci.run.passed`` and no triage), signed with
HMAC-SHA256, each request with its own delivery id. Every accepted request means: signature
checked, JSON parsed, mapped, its delivery id and event committed to SQLite, consumers woken.

Baseline, same run, same wrk settings and payload: a bare Starlette endpoint that does nothing
(:mod:`vigil.bench.bare_http`), served exactly like the daemon serves its app.

Exactly once: after the run the daemon is stopped and its database read. Every delivery id
stored must have exactly one event; the stored count must lie between the requests wrk saw
answered 2xx and that plus twice the connections (requests in flight when wrk stops are stored
without wrk counting their answers). Then 100 deliveries of the run are sent again: none may be
stored twice.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from vigil.bench import stats, wrk
from vigil.bench.harness import Check, Context, Result
from vigil.sources.github import sign

TARGET_RPS = 2000.0
TARGET_P99_MS = 20.0
TARGET_RATIO = 0.5
CONNECTIONS = 16
SECRET = "bench-webhook-secret"
PAYLOAD = "workflow_run.completed"
WAIT_S = 60.0


def _payload() -> Path:
    """The real payload from shared/data, wherever the checkout sits."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        for base in (parent / "shared" / "data", parent.parent / "shared" / "data"):
            candidate = base / "github-webhooks" / f"{PAYLOAD}.payload.json"
            if candidate.exists():
                return candidate
    raise RuntimeError(f"the real GitHub payload {PAYLOAD} is not in shared/data")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {WAIT_S:g} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _load(
    ctx: Context, wrk_bin: str, port: int, script: Path, args: list[str], seconds: float
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    wrk.run(wrk_bin, url, script, [*args[:3], "warmup"], seconds=2, connections=CONNECTIONS)
    return wrk.run(wrk_bin, url, script, args, seconds=seconds, connections=CONNECTIONS)


def _replay(port: int, body: bytes, signature: str, deliveries: list[str]) -> list[int]:
    import httpx

    codes = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for delivery in deliveries:
            answer = client.post(
                "/hooks/github",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "workflow_run",
                    "X-GitHub-Delivery": delivery,
                    "X-Hub-Signature-256": signature,
                },
            )
            codes.append(answer.status_code)
    return codes


def _some_deliveries(db_path: Path, n: int) -> list[str]:
    """Delivery ids the run stored (read beside the running daemon: WAL allows it)."""
    with sqlite3.connect(db_path, timeout=30) as db:
        rows = db.execute(
            "SELECT key FROM deliveries WHERE key LIKE 'github:bench-%' ORDER BY time LIMIT ?",
            (n,),
        ).fetchall()
    return [row[0].removeprefix("github:") for row in rows]


def _stored(db_path: Path, prefix: str) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        keys = db.execute(
            "SELECT COUNT(*) FROM deliveries WHERE key >= ? AND key < ?",
            (f"github:{prefix}", f"github:{prefix}\U0010ffff"),
        ).fetchone()[0]
        rows = db.execute(
            "SELECT json_extract(data, '$.delivery') FROM events WHERE type = 'ci.run.passed'"
            " AND json_extract(data, '$.delivery') >= ? AND json_extract(data, '$.delivery') < ?",
            (prefix, prefix + "\U0010ffff"),
        ).fetchall()
    deliveries = [r[0] for r in rows]
    return {"keys": keys, "events": len(deliveries), "distinct": len(set(deliveries))}


def run(ctx: Context) -> Result:
    wrk_bin = wrk.ensure_wrk()
    seconds = ctx.size(30, 3)
    source = _payload()
    body = source.read_bytes()
    signature = sign(SECRET.encode(), body)
    payload = ctx.root / "payload.json"
    shutil.copyfile(source, payload)
    script = ctx.root / "signed.lua"
    script.write_text(wrk.LUA)
    args = [str(payload), "workflow_run", signature, "bench"]

    ctx.say(f"webhook: baseline, a bare Starlette endpoint, {seconds} s")
    port = _free_port()
    bare = subprocess.Popen(
        [str(ctx.python), "-m", "vigil.bench.bare_http", str(port)],
        env=ctx.env(ctx.directory("bare-home")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, bare)
        baseline = _load(ctx, wrk_bin, port, script, args, seconds)
    finally:
        _stop(bare)

    ctx.say(f"webhook: vigil up, signed deliveries, {seconds} s")
    home = ctx.directory("home")
    (home / "config.toml").write_text(
        '[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n\n[chores]\nenabled = false\n'
    )
    port = _free_port()
    env = {**ctx.env(home), "VIGIL_GITHUB_SECRET": SECRET}
    command = [str(ctx.python), "-m", "vigil", "up", "--port", str(port)]
    daemon = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_port(port, daemon)
        found = _load(ctx, wrk_bin, port, script, args, seconds)
        ctx.say("webhook: replaying 100 deliveries of the run")
        replayed = _replay(port, body, signature, _some_deliveries(home / "vigil.db", 100))
    finally:
        _stop(daemon)
        if daemon.stderr:
            daemon.stderr.close()
    stored = _stored(home / "vigil.db", "bench-")
    answered = found["requests"] - found["non_2xx"]
    extra = stored["events"] - answered
    exactly_once = (
        stored["keys"] == stored["events"] == stored["distinct"]
        and 0 <= extra <= 2 * CONNECTIONS
        and found["non_2xx"] == 0
        and len(replayed) == 100
        and all(code == 200 for code in replayed)
    )
    result = Result()
    result.figures["vigil"] = {**found, "stored": stored, "stored_minus_answered": extra}
    result.figures["replayed"] = {
        "n": len(replayed),
        "answered_duplicate": sum(code == 200 for code in replayed),
    }
    result.figures["payload"] = {"name": PAYLOAD, "bytes": len(body)}
    result.figures["load"] = {
        "tool": "wrk",
        "threads": 1,
        "connections": CONNECTIONS,
        "seconds": seconds,
        "cpus": os.cpu_count(),
    }
    result.baseline["bare_starlette"] = baseline
    result.ratio["throughput_vs_bare"] = stats.ratio(
        found["requests_per_s"], baseline["requests_per_s"]
    )
    result.ratio["p99_vs_bare"] = stats.ratio(found.get("p99_ms", 0), baseline.get("p99_ms", 1))
    result.checks += [
        Check("requests_per_s", found["requests_per_s"], ">=", TARGET_RPS),
        Check("p99_ms", found.get("p99_ms"), "<", TARGET_P99_MS),
        Check("throughput_vs_bare", result.ratio["throughput_vs_bare"], ">=", TARGET_RATIO),
        Check("stored_exactly_once", 1.0 if exactly_once else 0.0, ">=", 1.0),
    ]
    result.notes.append(
        "wrk and the daemon share this machine's CPUs (wrk takes most of one core): read the"
        " figures next to other_cpu_share"
    )
    result.notes.append(json.dumps({"stored": stored, "answered_2xx": answered}))
    return result
