"""``python -m vigil.bench``: the performance report, one JSON object on stdout.

Each section measures one path of Vigil against its target and against a baseline measured in the
same run, on the same machine, at the same moment: on a noisy machine a ratio to a same-run baseline
means more than an absolute figure. Latencies are percentiles over many samples
(``time.perf_counter_ns``; ``time.time_ns`` across processes), throughputs the median of several
repetitions, and every figure says its ``n``. Progress goes to stderr.

Sections, in run order (one module each)::

    publish        durable appends vs raw SQLite (same schema; minimal table for information)
    dispatch       in-daemon publish -> durable consumer's handler latency
    cross_process  another process appends and rings the doorbell -> handler latency
    triage         diagnosis of a 10,000-line output with a 10,000-entry knowledge base
    triage_accuracy  file+line of the first failure on labelled real outputs, tuned and held out
    search         knowledge search at 100,000 entries vs raw FTS5 on the same texts
    recall         semantic recall vs full text per query kind; hybrid latency at 100,000
    startup        wall time of short CLI commands vs `python -c "import sqlite3, json"`
    follow         `vigil events --follow`: publish -> printed line, daemon down and up; ring cost
    run_overhead   a failing pytest through `vigil run` vs bare: added time, prompt-back time
    breaker        circuit breaker overhead per call vs pybreaker; cost of a refused call
    supervisor     crashed component -> running again (backoff excluded) vs a bare task restart
    redact         secret redaction of a 64 KB output tail and a small payload vs a bare scan
    red_state      keeping a failing run's dirty files for learned diffs vs git_state itself
    ask            `vigil ask` answered by rules, end to end; skipping an open breaker
    reasoning      the embedded model on real failures (fix picked, file named, enrichment
                   latency and valid JSON) vs a keyword matcher and a template summary
    attention      gate decision latency vs the bare chain shape; a storm; a recorded day
                   replayed on the event clock vs Alertmanager's default timers
    control        policy decision time vs shlex.split; proposal -> approval -> execution start
                   vs a bare Popen; the approval audit (executions without one: 0)
    voice          the wake phrase chosen by measurement (detection on espeak-ng voices, speeds
                   and noise; false wakes per hour on synthetic and human non-commands; intent
                   accuracy) and VAD/recognition time per second of audio vs reading the WAV
    dashboard      GET / on a real daemon with 10,000 events stored vs GET /healthz; the page's
                   load in Chromium
    webhook        signed GitHub deliveries into a real daemon under wrk (30 s), stored exactly
                   once, vs a bare Starlette endpoint
    files          a write -> file.changed on the bus, after the debounce, vs a bare watchdog
                   callback; how long the git hook keeps git waiting
    logs           log template grouping accuracy (loghub) and lines/s vs drain3; a line
                   appended to a followed file -> its anomaly on the bus (p99)

Report shape::

    {"meta": {...machine, versions, load, quick, elapsed_s},
     "pass": true,                       # every section ran and met every target
     "sections": {
       "publish": {"pass": true, "target": "ratio_single >= 0.5; ...",
                   "checks": [{"figure", "value", "op", "target", "pass"}],
                   "figures": {...}, "baseline": {...}, "ratio": {...}, "notes": [...],
                   "elapsed_s": 12.3, "other_cpu_share": 0.02},
       ...}}

``other_cpu_share`` is the share of the machine's CPU capacity that *other* processes used while
the section ran (:mod:`vigil.bench.machine`): read a missed latency target next to it.
A section that crashes reports ``{"pass": false, "error": "..."}`` and the others still run.
Exit status: 0 when every selected section ran (met or missed: the JSON says which), 1 when one
crashed, 2 for bad usage (one line on stderr). Everything runs under a temporary directory,
removed at the end; ``VIGIL_HOME`` points there for this process and its subprocesses.
"""

from __future__ import annotations

SECTIONS: tuple[str, ...] = (
    "publish",
    "dispatch",
    "cross_process",
    "triage",
    "triage_accuracy",
    "search",
    "recall",
    "startup",
    "follow",
    "run_overhead",
    "breaker",
    "supervisor",
    "redact",
    "red_state",
    "ask",
    "reasoning",
    "attention",
    "control",
    "voice",
    "dashboard",
    "webhook",
    "files",
    "logs",
)

__all__ = ["SECTIONS"]
