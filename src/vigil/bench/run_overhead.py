"""run_overhead: what ``vigil run`` adds to a failing ``pytest``, and how soon the prompt is back.

A small project (a cart module with a broken discount and its test, in a git repository) runs
``python -m pytest -q`` bare and through ``vigil run --`` in turn (round-robin, the same command,
the same moment of the machine), first with no daemon, then with ``vigil up`` beside it. Each run
is one fresh process, as a person runs it; output goes to a pipe.

- ``added_ms``: wall time of the ``vigil run`` process minus the bare run of the same round.
- ``after_end_ms``: from the moment the command itself ended (``date +%s%N`` written by a tiny
  shell wrapper right after pytest exits; the bare runs use the same wrapper) to the moment the
  ``vigil run`` process has exited: diagnosis, storage, the printed result and process exit.
  Target: p95 <= 150 ms, with and without the daemon (issue 7: nothing a model does holds the
  prompt; a model step the configuration enables is left to the daemon).

The configuration is the default one, as ``make up`` leaves it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result

TARGET_AFTER_END_P95_MS = 150.0
WARMUP = 2
TIMEOUT_S = 120.0

CART = "def total(subtotal, discount):\n    return subtotal * (1 + discount)\n"
TEST = (
    "from cart import total\n\n\n"
    "def test_discount_lowers_the_total():\n    assert total(100, 0.1) == 90\n"
)
# The command, then the moment it ended, for both the bare and the wrapped runs.
WRAPPER = 'marker="$1"; shift; "$@"; status=$?; date +%s%N > "$marker"; exit $status'


def _project(root: Path) -> Path:
    project = root / "shop"
    project.mkdir()
    (project / "cart.py").write_text(CART)
    (project / "test_cart.py").write_text(TEST)
    git = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "cart"], cwd=project, check=True)
    return project


def _timed(command: list[str], cwd: Path, env: dict[str, str], marker: Path) -> tuple[int, int]:
    """(wall ns of the process, ns from the command's end to the process's exit)."""
    marker.unlink(missing_ok=True)
    started = time.perf_counter_ns()
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=TIMEOUT_S,
        check=False,
    )
    exited = time.time_ns()
    wall = time.perf_counter_ns() - started
    if done.returncode != 1:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"expected pytest's exit 1, got {done.returncode}: {error[-3:]}")
    ended = int(marker.read_text().strip())
    return wall, max(0, exited - ended)


class _Daemon:
    """``vigil up --port 0`` in the background, ready when its ``daemon.json`` appears."""

    def __init__(self, ctx: Context, home: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [str(ctx.vigil_script), "up", "--port", "0"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        state = home / "run" / "daemon.json"
        deadline = time.monotonic() + 60
        while not state.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the daemon did not start")
            time.sleep(0.05)
        self.state: dict[str, Any] = json.loads(state.read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _measure(
    ctx: Context, project: Path, env: dict[str, str], reps: int, label: str
) -> dict[str, Any]:
    marker = ctx.root / f"ended-{label}"
    pytest = [str(ctx.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    bare = ["sh", "-c", WRAPPER, "wrapper", str(marker), *pytest]
    wrapped = [str(ctx.vigil_script), "run", "--", "sh", "-c", WRAPPER, "wrapper", str(marker)]
    wrapped += pytest
    bare_ns: list[int] = []
    vigil_ns: list[int] = []
    added_ns: list[int] = []
    after_ns: list[int] = []
    for rep in range(WARMUP + reps):
        order = [("bare", bare), ("vigil", wrapped)]
        if rep % 2:
            order.reverse()
        walls: dict[str, int] = {}
        for name, command in order:
            walls[name], after = _timed(command, project, env, marker)
            if name == "vigil" and rep >= WARMUP:
                after_ns.append(after)
        if rep >= WARMUP:
            bare_ns.append(walls["bare"])
            vigil_ns.append(walls["vigil"])
            added_ns.append(walls["vigil"] - walls["bare"])
    return {
        "bare_ms": stats.latency(bare_ns),
        "vigil_run_ms": stats.latency(vigil_ns),
        "added_ms": stats.latency([max(0, a) for a in added_ns]),
        "after_end_ms": stats.latency(after_ns),
    }


def run(ctx: Context) -> Result:
    reps = ctx.size(15, 5)
    result = Result()
    if not ctx.vigil_script.exists():
        result.notes.append(f"no console script at {ctx.vigil_script}: install Vigil in this venv")
        return result
    project = _project(ctx.root)
    home = ctx.directory("home")
    env = ctx.env(home)
    ctx.say(f"run_overhead: failing pytest bare vs vigil run, {reps} rounds, no daemon")
    alone = _measure(ctx, project, env, reps, "alone")
    ctx.say(f"run_overhead: the same with the daemon up, {reps} rounds")
    daemon = _Daemon(ctx, home, env)
    try:
        beside = _measure(ctx, project, env, reps, "daemon")
    finally:
        daemon.stop()
    for label, figures in (("no_daemon", alone), ("daemon", beside)):
        result.baseline[f"{label}: bare pytest"] = figures.pop("bare_ms")
        result.figures[label] = figures
        result.checks.append(
            Check(
                f"{label}: after_end_ms p95",
                figures["after_end_ms"].get("p95"),
                "<=",
                TARGET_AFTER_END_P95_MS,
            )
        )
        bare_median = result.baseline[f"{label}: bare pytest"]["median"]
        result.ratio[f"{label}: vigil run / bare (median)"] = stats.ratio(
            figures["vigil_run_ms"]["median"], bare_median
        )
    result.notes.append(
        "added_ms includes vigil's own start-up before the command; after_end_ms is what the "
        "person waits for once the command is done"
    )
    return result
