"""triage: diagnose a 10,000-line pytest output with a 10,000-entry knowledge base.

Setup (not timed): a temporary ``VIGIL_HOME``, ``settings = load_settings()`` read with it, and
``Vigil(settings)``; the knowledge base filled with realistic entries (:mod:`vigil.bench.corpus`)
in one transaction, two of them linked to fingerprints of this output (the KB knows this failure),
and 40 earlier failures of it in the event log (history: seen N times). The output is
:func:`vigil.bench.pytest_log.build`: real pytest failure blocks among 10,000 lines of noise.

Timed: ``vigil.triage.diagnose(output, cwd=..., command="pytest -q")``, the whole deterministic
diagnosis (parse, fingerprint, known fixes, history). Baseline, interleaved in the same run:
``parse_output`` alone on the same text, the floor any triage pays; ``known_fixes`` alone is
reported too, so a miss can be placed.
"""

from __future__ import annotations

import time
from typing import Any

from vigil.app import Vigil
from vigil.bench import pytest_log, stats
from vigil.bench.corpus import Corpus
from vigil.bench.harness import Check, Context, Result, vigil_home
from vigil.config import load_settings
from vigil.events.catalog import BUILD_RUN_FAILED, TRIAGE_COMPLETED
from vigil.events.model import Event

TARGET_P99_MS = 100.0
COMMAND = "pytest -q"
PAST_FAILURES = 40


def _history(app: Vigil, fingerprint: str, cwd: str) -> None:
    """Earlier runs that failed the same way, each with its triage, as the daemon stores them."""
    events: list[Event] = []
    for i in range(PAST_FAILURES):
        failed = app.event(
            BUILD_RUN_FAILED,
            {
                "command": COMMAND,
                "argv": COMMAND.split(),
                "cwd": cwd,
                "exit_code": 1,
                "duration_ms": 14023.5,
                "output_tail": "1 failed",
                "git": {"head": f"{i:040x}", "tree": f"{i % 7:040x}"},
            },
            subject=COMMAND,
        )
        triaged = app.event(
            TRIAGE_COMPLETED,
            {"failures": [], "fingerprint": fingerprint, "summary": "1 failure"},
            subject=COMMAND,
            fingerprint=fingerprint,
            cause=failed,
        )
        events += [failed, triaged]
    app.log.append(events)


def _fill(app: Vigil, entries: int, fingerprints: list[str]) -> float:
    """Add ``entries`` entries in one transaction; returns the seconds it took."""
    kb = app.knowledge
    started = time.perf_counter()
    with app.db.transaction():
        for draft in Corpus(seed=5).drafts(entries):
            kb.add(draft.kind, draft.title, draft.body, draft.tags, draft.fingerprints)
        for fingerprint in fingerprints[:2]:
            kb.add(
                "fix",
                "Config loader must not parse YAML-style quotes as JSON",
                "load_config fails with JSONDecodeError on single quotes; normalise the input.",
                ("python", "config"),
                (fingerprint,),
                confidence=0.9,
            )
    return time.perf_counter() - started


def run(ctx: Context) -> Result:
    from vigil.parsing import parse_output

    runs = ctx.size(30, 5)
    entries = ctx.size(10_000, 2_000)
    output = pytest_log.build(10_000)
    home = ctx.directory("home")
    with vigil_home(home):
        settings = load_settings()
    app = Vigil(settings)
    try:
        cwd = output.cwd or str(ctx.root)
        triage = app.triage
        first = triage.diagnose(output.text, cwd=cwd, command=COMMAND)
        found = [first.fingerprint, *(f.fingerprint for f in first.failures)]
        fingerprints = list(dict.fromkeys(fp for fp in found if fp))
        ctx.say(f"triage: knowledge base of {entries} entries")
        fill_s = _fill(app, entries, fingerprints)
        if first.fingerprint:
            _history(app, first.fingerprint, cwd)
        text = " ".join(
            " ".join(p for p in (f.error_type, f.message, f.test) if p) for f in first.failures[:10]
        )[:1000]
        ctx.say(f"triage: {runs} diagnoses of {output.lines} lines")
        samples: dict[str, list[int]] = {"diagnose": [], "parse": [], "known_fixes": []}
        reported: list[float] = []
        diagnosis: Any = first
        for _ in range(runs):
            started = time.perf_counter_ns()
            diagnosis = triage.diagnose(output.text, cwd=cwd, command=COMMAND)
            samples["diagnose"].append(time.perf_counter_ns() - started)
            reported.append(diagnosis.elapsed_ms)
            started = time.perf_counter_ns()
            parse_output(output.text, cwd=cwd, command=COMMAND)
            samples["parse"].append(time.perf_counter_ns() - started)
            started = time.perf_counter_ns()
            app.knowledge.known_fixes(fingerprints, text, limit=settings.triage_max_fixes)
            samples["known_fixes"].append(time.perf_counter_ns() - started)
    finally:
        app.close()
    timed = stats.latency(samples["diagnose"])
    parse = stats.latency(samples["parse"])
    result = Result()
    result.figures["diagnose"] = timed
    result.figures["known_fixes_only"] = stats.latency(samples["known_fixes"])
    result.figures["elapsed_ms_reported_p50"] = round(stats.percentile(reported, 50), 3)
    result.figures["input"] = {
        "lines": output.lines,
        "bytes": len(output.text.encode()),
        "failure_blocks": output.failures,
        "from_fixtures": list(output.sources),
        "synthetic": output.synthetic,
        "kb_entries": entries,
        "kb_fill_s": round(fill_s, 2),
        "past_failures": PAST_FAILURES if first.fingerprint else 0,
    }
    result.figures["diagnosis"] = {
        "failures": len(diagnosis.failures),
        "known_fixes": len(diagnosis.known_fixes),
        "matches": [fix["match"] for fix in diagnosis.known_fixes],
        "history_seen": diagnosis.history.seen if diagnosis.history else None,
    }
    result.baseline["parse_only"] = parse
    result.ratio.update({f"{q}_vs_parse": stats.ratio(timed[q], parse[q]) for q in ("p50", "p99")})
    result.checks.append(Check("p99_ms", timed["p99"], "<", TARGET_P99_MS))
    if output.synthetic:
        result.notes.append("no pytest fixtures found: a synthetic failure block was used")
    return result
