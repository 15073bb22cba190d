"""startup: wall time of short CLI commands, each a fresh process, against Python itself.

Measured from ``subprocess.run`` to its return (start-up, imports, the work, exit), on a
temporary home holding a few hundred events:

- ``python -m vigil --version`` (this interpreter, i.e. the venv's);
- ``vigil --version``: the console script beside this interpreter;
- ``vigil events --limit 1``: opens the state database and reads.

Baseline: ``python -c "import sqlite3, json"`` with the same interpreter, in the same run: a
program that does nothing but load what any reader of the state needs. Target (issue 7, "read
commands start at the speed of Python"): ``vigil --version`` and ``vigil events --limit 1`` take at
most twice as long. Commands take turns (round-robin) so a slow moment of the machine hits them
alike, and each command's ratio is the median of its per-round ratios (each against the baseline
run of the same round); the ratio of the medians is reported beside it. ``python -c pass`` is
reported for information.

Bytecode is on, as for any user (pip compiles it at install; any first run writes it): the
subprocesses write theirs under the bench's temporary directory (``PYTHONPYCACHEPREFIX``), even
when this process runs with ``PYTHONDONTWRITEBYTECODE``. Two warm-up runs of each command are not
counted (they write the bytecode and fill the OS page cache, as any earlier use would have).
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

TARGET_RATIO = 2.0
BASELINE = "python -c 'import sqlite3, json'"
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
    reps = ctx.size(21, 5)
    home = ctx.directory("home")
    _seed(home)
    env = ctx.env(home)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(ctx.directory("pycache"))
    python = str(ctx.python)
    script = str(ctx.vigil_script)
    commands = {
        BASELINE: [python, "-c", "import sqlite3, json"],
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
    base = samples.pop(BASELINE)
    bare = stats.latency(base)
    result.baseline[BASELINE] = bare
    result.baseline["python -c pass"] = stats.latency(samples.pop("python -c pass"))
    for name in ("python -m vigil --version", "vigil --version", "vigil events --limit 1"):
        paired_name = f"{name} / baseline (paired median)"
        if name in samples:
            figure = result.figures[name] = stats.latency(samples[name])
            paired = [s / b for s, b in zip(samples[name], base, strict=True)]
            result.ratio[paired_name] = stats.ratio(stats.percentile(paired, 50), 1.0)
            result.ratio[f"{name} / baseline (medians)"] = stats.ratio(
                figure["median"], bare["median"]
            )
        if name != "python -m vigil --version":  # that one runs runpy first: information only
            value = result.ratio.get(paired_name)
            result.checks.append(Check(paired_name, value, "<=", TARGET_RATIO))
    result.figures["events_in_home"] = EVENTS
    return result
