"""Running the real CLI as a subprocess, and a real daemon in the background."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def vigil(
    *args: str,
    home: Path,
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vigil ARGS`` with ``VIGIL_HOME=home``."""
    env = {**os.environ, "VIGIL_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def events(home: Path, *args: str) -> list[dict[str, Any]]:
    done = vigil("events", "--json", "--limit", "1000", *args, home=home)
    assert done.returncode == 0, done.stderr
    parsed: list[dict[str, Any]] = json.loads(done.stdout)
    return parsed


def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


@contextmanager
def daemon(home: Path, extra: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
    """A real ``vigil up --port 0`` in the background; yields its daemon.json."""
    env = {**os.environ, "VIGIL_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", "up", "--port", "0", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state_file = home / "run" / "daemon.json"
    try:

        def ready() -> dict[str, Any] | None:
            if proc.poll() is not None:
                raise AssertionError(f"daemon exited: {proc.stderr.read() if proc.stderr else ''}")
            if not state_file.exists():
                return None
            state: dict[str, Any] = json.loads(state_file.read_text())
            return state

        state = wait_for(ready)
        state["proc"] = proc
        yield state
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def get_json(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def with_sigint(disposition: str, argv: Sequence[str]) -> list[str]:
    """``argv`` started with SIGINT set to ``disposition`` (``"default"`` or ``"ignore"``),
    whatever this process inherited: a test sets the dispositions it relies on (CI may start
    the suite with SIGINT ignored, as a shell does for a background job)."""
    handler = {"default": "SIG_DFL", "ignore": "SIG_IGN"}[disposition]
    script = (
        "import os, signal, sys\n"
        f"signal.signal(signal.SIGINT, signal.{handler})\n"
        "os.execvp(sys.argv[1], sys.argv[1:])\n"
    )
    return [sys.executable, "-c", script, *argv]
