"""startup: wall time of short CLI commands, each a fresh process, against a bare interpreter.

Measured from ``subprocess.run`` to its return (start-up, imports, the work, exit), on a
temporary home holding a few hundred events:

- ``python -m vigil --version`` (this interpreter, i.e. the venv's);
- ``vigil --version``: the console script beside this interpreter;
- ``vigil events --limit 1``: opens the state database and reads.

Baseline: ``python -c pass`` with the same interpreter, in the same run. Commands take turns
(round-robin) so a slow moment of the machine hits them alike; two warm-up runs each are not
counted (they fill the OS page cache and write bytecode, as any earlier use would have).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result
from vigil.clock import SystemClock
from vigil.events.log import SqliteEventLog
from vigil.events.model import new_event
from vigil.storage import Database

TARGET_MEDIAN_MS = 150.0
WARMUP = 2
EVENTS = 500
TIMEOUT_S = 30.0


def _seed(home: Path) -> None:
    clock = SystemClock()
    log = SqliteEventLog(Database(home / "vigil.db"), clock)
    try:
        log.append(
            new_event(
                "build.run.passed" if i % 3 else "file.change.detected",
                {"command": "pytest -q", "cwd": "/home/dev/src/shop", "i": i},
                clock=clock,
                source="vigil.bench",
                subject="pytest -q",
            )
            for i in range(EVENTS)
        )
    finally:
        log.db.close()


def _time(command: list[str], env: dict[str, str]) -> int:
    started = time.perf_counter_ns()
    done = subprocess.run(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter_ns() - started
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}: {error[-1] if error else ''}"
        )
    return elapsed


def run(ctx: Context) -> Result:
    reps = ctx.size(15, 5)
    home = ctx.directory("home")
    _seed(home)
    env = ctx.env(home)
    python = str(ctx.python)
    script = str(ctx.vigil_script)
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "python -m vigil --version": [python, "-m", "vigil", "--version"],
        "vigil --version": [script, "--version"],
        "vigil events --limit 1": [script, "events", "--limit", "1"],
    }
    result = Result()
    if not ctx.vigil_script.exists():
        result.notes.append(f"no console script at {script}: install Vigil in this venv")
        del commands["vigil --version"], commands["vigil events --limit 1"]
    ctx.say(f"startup: {len(commands)} commands x {reps} runs (+{WARMUP} warm-up)")
    samples: dict[str, list[int]] = {name: [] for name in commands}
    names = list(commands)
    for rep in range(WARMUP + reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            elapsed = _time(commands[name], env)
            if rep >= WARMUP:
                samples[name].append(elapsed)
    bare = stats.latency(samples.pop("python -c pass"))
    result.baseline["python -c pass"] = bare
    for name in ("python -m vigil --version", "vigil --version", "vigil events --limit 1"):
        figure = stats.latency(samples[name]) if name in samples else None
        if figure is not None:
            result.figures[name] = figure
            result.ratio[f"{name} / python -c pass"] = stats.ratio(figure["median"], bare["median"])
        value = figure["median"] if figure is not None else None
        result.checks.append(Check(f"{name}: median_ms", value, "<", TARGET_MEDIAN_MS))
    result.figures["events_in_home"] = EVENTS
    return result
