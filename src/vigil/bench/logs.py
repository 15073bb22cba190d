"""logs: template grouping accuracy and speed beside drain3, and following latency.

**Accuracy.** Every system in the loghub folder (:mod:`vigil.bench.loghub`: the eight in
``shared/data/loghub``, more with ``VIGIL_LOGHUB_DIR``) is fed line by line (the structured CSV's
``Content``) to a fresh :class:`~vigil.parsing.templates.TemplateMiner` and, in the same run, to
drain3 0.9.11 with its defaults; both are scored with loghub's grouping accuracy. Vigil has no
per-system setting and answers online (each line's group is final when it arrives). Systems
outside the shared eight are reported apart, as ``held_out`` (a full loghub checkout has eight
more: ``VIGIL_LOGHUB_DIR=/path/to/loghub``; the report's notes name every file read).

**Throughput**, lines per second on one core, medians over repetitions interleaved with drain3:

* ``cold``: each 2k sample into a fresh miner (every template is new, caches are empty: the
  hardest case for Vigil's caches);
* ``stream``: 100,000 lines drawn from the eight samples with their digits redrawn at random,
  into one miner (a long-running log: templates known, values new).

Both are checked against the 3x goal.

**Following**: a real :class:`~vigil.app.logfollow.LogStream` (inotify, SQLite) on a file in the
bench directory; each sample appends one line that is a new error template and times until its
``log.anomaly.detected`` is committed to the event log (the bus), and separately until a plain
line has its template. The follower hands a record on after ``QUIET_S`` without more input (it
waits that long for continuation lines), which is in these figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import statistics
import time
from pathlib import Path
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result
from vigil.bench.loghub import SHARED_SYSTEMS, find_loghub, grouping_accuracy, load, systems
from vigil.parsing.templates import TemplateMiner

TARGET_AVERAGE = 0.95
TARGET_MINIMUM = 0.85
TARGET_LINES_PER_S = 50_000.0
TARGET_RATIO = 3.0
TARGET_FOLLOW_P99_MS = 50.0


def _vigil_ids(lines: list[str]) -> list[str]:
    return [t.id for t in TemplateMiner().add_many(lines)]


def _drain3_ids(lines: list[str]) -> list[int]:
    from drain3 import TemplateMiner as Drain3

    miner = Drain3()
    return [miner.add_log_message(line)["cluster_id"] for line in lines]


def _quiet_drain3() -> None:
    logging.getLogger("drain3").setLevel(logging.ERROR)
    for name in ("drain3.template_miner", "drain3.template_miner_config"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _accuracy(root: Path, names: list[str], result: Result, ctx: Context) -> None:
    vigil: dict[str, float] = {}
    drain: dict[str, float] = {}
    for name in names:
        lines, truth = load(root, name)
        vigil[name] = round(grouping_accuracy(_vigil_ids(lines), truth), 4)
        drain[name] = round(grouping_accuracy(_drain3_ids(lines), truth), 4)
        ctx.say(f"logs: {name} vigil {vigil[name]:.4f} drain3 {drain[name]:.4f}")
    shared = [n for n in names if n in SHARED_SYSTEMS]
    held = [n for n in names if n not in SHARED_SYSTEMS]
    result.notes.append(
        f"accuracy reads {root}/NAME/NAME_2k.log_structured.csv (columns Content, EventId) for "
        f"NAME in {', '.join(shared)}"
        + (f"; held out: {', '.join(held)}" if held else "; no held-out systems there")
    )

    def block(scores: dict[str, float], group: list[str]) -> dict[str, Any]:
        values = [scores[n] for n in group]
        return {
            "systems": {n: scores[n] for n in group},
            "average": round(sum(values) / len(values), 4) if values else None,
            "minimum": min(values) if values else None,
        }

    result.figures["accuracy"] = block(vigil, shared)
    result.baseline["accuracy_drain3"] = block(drain, shared)
    if held:
        result.figures["accuracy_held_out"] = block(vigil, held)
        result.baseline["accuracy_held_out_drain3"] = block(drain, held)
        result.ratio["held_out_average_vs_drain3"] = stats.ratio(
            result.figures["accuracy_held_out"]["average"],
            result.baseline["accuracy_held_out_drain3"]["average"],
        )
    ours = result.figures["accuracy"]
    result.ratio["average_vs_drain3"] = stats.ratio(
        ours["average"], result.baseline["accuracy_drain3"]["average"]
    )
    result.checks.append(Check("accuracy_average", ours["average"], ">=", TARGET_AVERAGE))
    result.checks.append(Check("accuracy_minimum", ours["minimum"], ">=", TARGET_MINIMUM))


def _time(run: Any, lines: list[str]) -> int:
    started = time.perf_counter_ns()
    run(lines)
    return time.perf_counter_ns() - started


def _throughput(root: Path, names: list[str], result: Result, ctx: Context) -> None:
    reps = ctx.size(7, 3)
    samples = {name: load(root, name)[0] for name in names}
    cold_v: dict[str, float] = {}
    cold_d: dict[str, float] = {}
    total = 0
    sum_v = sum_d = 0.0
    for name, lines in samples.items():
        ours: list[int] = []
        theirs: list[int] = []
        for _ in range(reps):  # interleaved: the same moment of a noisy machine for both
            ours.append(_time(_vigil_ids, lines))
            theirs.append(_time(_drain3_ids, lines))
        v, d = statistics.median(ours), statistics.median(theirs)
        cold_v[name] = round(len(lines) / (v / 1e9))
        cold_d[name] = round(len(lines) / (d / 1e9))
        total += len(lines)
        sum_v += v
        sum_d += d
    cold = round(total / (sum_v / 1e9))
    drain_cold = round(total / (sum_d / 1e9))
    result.figures["throughput_cold"] = {"unit": "lines/s", "reps": reps, "all": cold, **cold_v}
    result.baseline["throughput_cold_drain3"] = {
        "unit": "lines/s",
        "reps": reps,
        "all": drain_cold,
        **cold_d,
    }
    result.ratio["cold_vs_drain3"] = stats.ratio(cold, drain_cold)
    ctx.say(f"logs: cold {cold} lines/s, drain3 {drain_cold}")

    rnd = random.Random(9)
    pool = [line for lines in samples.values() for line in lines]
    size = ctx.size(100_000, 20_000)
    stream = [
        "".join(rnd.choice("0123456789") if ch.isdigit() else ch for ch in rnd.choice(pool))
        for _ in range(size)
    ]
    ours, theirs = [], []
    for _ in range(ctx.size(3, 1)):
        ours.append(_time(_vigil_ids, stream))
        theirs.append(_time(_drain3_ids, stream))
    steady = stats.throughput([size] * len(ours), ours)
    drain_steady = stats.throughput([size] * len(theirs), theirs)
    steady["unit"] = drain_steady["unit"] = "lines/s"
    result.figures["throughput_stream"] = steady
    result.baseline["throughput_stream_drain3"] = drain_steady
    result.ratio["stream_vs_drain3"] = stats.ratio(steady["median"], drain_steady["median"])
    ctx.say(f"logs: stream {steady['median']} lines/s, drain3 {drain_steady['median']}")
    result.checks.append(Check("cold_lines_per_s", float(cold), ">=", TARGET_LINES_PER_S))
    result.checks.append(
        Check("cold_vs_drain3", result.ratio["cold_vs_drain3"], ">=", TARGET_RATIO)
    )
    result.checks.append(
        Check("stream_vs_drain3", result.ratio["stream_vs_drain3"], ">=", TARGET_RATIO)
    )


async def _follow(ctx: Context, samples: int) -> dict[str, Any]:
    from vigil.app import Vigil
    from vigil.app.logfollow import LogStream, parse_spec
    from vigil.config import load_settings
    from vigil.events import catalog

    home = ctx.directory("home")
    settings = load_settings({"home": str(home)})
    log = ctx.root / "followed.log"
    log.write_text("INFO warm up\n")
    seen: asyncio.Queue[tuple[int, bool]] = asyncio.Queue()

    def printer(record: Any, template: Any, anomalies: list[Any]) -> None:
        seen.put_nowait((time.perf_counter_ns(), bool(anomalies)))

    with Vigil.open(settings) as vigil:
        vigil.ensure_schema()
        stream = LogStream(
            parse_spec({"path": str(log)}, "bench"),
            event_log=vigil.log,
            state=vigil.log_state,
            clock=vigil.clock,
            printer=printer,
            detector_options={"new_per_window": samples},  # every sample is a new template
        )
        task = asyncio.create_task(stream.run())
        while stream.follower is None or not stream.follower.ready.is_set():
            await asyncio.sleep(0.005)
        anomaly_ns: list[int] = []
        template_ns: list[int] = []
        words = [f"{a}{b}{c}" for a in "bcdfgh" for b in "aeiou" for c in "klmnprst"]
        rnd = random.Random(3)
        rnd.shuffle(words)
        with log.open("a", buffering=1) as handle:
            for i in range(samples):
                new_error = i % 2 == 0
                line = (
                    f"ERROR {words[i // 2 % len(words)]} subsystem failed with code {i}\n"
                    if new_error
                    else f"INFO request {i} served in {i % 7} ms\n"
                )
                started = time.perf_counter_ns()
                handle.write(line)
                stamp, anomalous = await asyncio.wait_for(seen.get(), timeout=5.0)
                (anomaly_ns if new_error else template_ns).append(stamp - started)
                if new_error and not anomalous:
                    raise RuntimeError(f"a new error template raised no anomaly: {line!r}")
                await asyncio.sleep(0.002)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        stored = len(vigil.log.read_after(0, (catalog.LOG_ANOMALY_DETECTED,), limit=100_000))
    return {
        "append_to_anomaly_on_bus": stats.latency(anomaly_ns),
        "append_to_template": stats.latency(template_ns),
        "anomalies_stored": stored,
    }


def run(ctx: Context) -> Result:
    _quiet_drain3()
    result = Result()
    root = find_loghub()
    if root is None:
        raise RuntimeError("no loghub samples: set VIGIL_LOGHUB_DIR or keep shared/ beside")
    names = systems(root)
    result.notes.append(f"loghub: {root} ({', '.join(names)})")
    _accuracy(root, names, result, ctx)
    shared = [n for n in names if n in SHARED_SYSTEMS] or names
    _throughput(root, shared, result, ctx)
    from vigil.sources.logs import QUIET_S

    follow = asyncio.run(_follow(ctx, ctx.size(400, 60)))
    result.figures["following"] = follow
    result.notes.append(
        f"following waits {QUIET_S * 1000:g} ms of quiet for continuation lines; included"
    )
    result.baseline["following_quiet_wait_ms"] = QUIET_S * 1000
    result.checks.append(
        Check(
            "follow_anomaly_p99_ms",
            follow["append_to_anomaly_on_bus"].get("p99"),
            "<",
            TARGET_FOLLOW_P99_MS,
        )
    )
    return result
