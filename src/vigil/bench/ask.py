"""ask: ``vigil ask`` answered by the rules provider, end to end, as a person runs it.

A home with a real triaged failure and a chain of just the rules provider; each sample is a whole
``vigil ask --json "why did the build fail?"`` process (start-up, imports, the stores, the answer
and its receipt). Baseline, same run: ``vigil --version`` (start-up alone). Also the cost of
skipping a provider whose breaker is open (the chain's check, in process).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result, vigil_home
from vigil.errors import ProviderUnavailable

TARGET_ASK_MS = 300.0
TARGET_SKIP_MS = 1.0
RULES = '[[reasoning.providers]]\nname = "rules"\nkind = "rules"\n'
FAILURE = {
    "type": "build.run.failed",
    "subject": "make",
    "data": {
        "command": "make",
        "cwd": "/tmp",
        "exit_code": 2,
        "output_tail": "src/app.c:12:5: error: 'count' undeclared (first use)\n",
    },
}


def _timed(ctx: Context, home: Path, args: list[str]) -> int:
    started = time.perf_counter_ns()
    done = subprocess.run(
        [str(ctx.vigil_script), *args],
        env=ctx.env(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter_ns() - started
    if done.returncode != 0:
        raise RuntimeError(f"vigil {args[0]} failed: {done.stderr.decode()[-300:]}")
    return elapsed


def _skip_cost(home: Path, n: int) -> list[int]:
    from vigil.reasoning.chain import ChainExhausted, FallbackChain, Link, breaker_for
    from vigil.reasoning.provider import Message, Request
    from vigil.reliability import BreakerRegistry, BreakerStore
    from vigil.storage import Database
    from vigil.testing import ScriptedProvider

    db = Database(home / "skip.db")
    registry = BreakerRegistry(BreakerStore(db))
    dead = ScriptedProvider("dead", [ProviderUnavailable("down", provider="dead")] * 10)
    chain = FallbackChain([Link(dead, breaker_for(registry, "dead"))])
    link = chain.links[0]
    request = Request(messages=(Message("user", "?"),))
    for _ in range(3):  # three failures through the chain open the provider's breaker
        try:
            asyncio.run(chain.complete(request, deadline=time.monotonic() + 5))
        except ChainExhausted:
            pass
    samples = []
    for _ in range(n):
        started = time.perf_counter_ns()
        reason = chain._why_not(link, time.monotonic() + 5)
        samples.append(time.perf_counter_ns() - started)
        if reason is None:
            raise RuntimeError("the breaker did not open")
    db.close()
    return samples


def run(ctx: Context) -> Result:
    n = ctx.size(20, 5)
    home = ctx.directory("ask-home")
    (home / "config.toml").write_text(RULES)
    subprocess.run(
        [str(ctx.vigil_script), "ingest", "-"],
        env=ctx.env(home),
        check=True,
        input=(json.dumps(FAILURE) + "\n").encode(),
        capture_output=True,
    )
    with vigil_home(home):
        from vigil.app import Vigil
        from vigil.config import load_settings

        with Vigil.open(load_settings()) as vigil:  # triage it, as the daemon would have
            (failed,) = vigil.log.find(patterns=["build.run.failed"], limit=1)
            vigil.log.process(
                "triage",
                failed,
                lambda: (
                    [vigil.triage.completed_event(failed, vigil.triage.diagnose_event(failed))],
                    None,
                ),
            )
    ctx.say(f"ask: {n} x vigil ask --json (rules), {n} x vigil --version")
    for _ in range(2):  # warm the OS cache
        _timed(ctx, home, ["ask", "--json", "why did the build fail?"])
    ask_ns = [_timed(ctx, home, ["ask", "--json", "why did the build fail?"]) for _ in range(n)]
    version_ns = [_timed(ctx, home, ["--version"]) for _ in range(n)]
    skip_ns = _skip_cost(home, ctx.size(2000, 200))
    result = Result()
    ask = stats.latency(ask_ns)
    skip = stats.latency(skip_ns)
    result.figures["ask_rules_end_to_end"] = ask
    result.figures["open_breaker_skip"] = skip
    result.baseline["vigil_version"] = stats.latency(version_ns)
    result.ratio["ask_vs_version_p50"] = stats.ratio(
        ask["p50"], result.baseline["vigil_version"]["p50"]
    )
    result.checks.append(Check("ask_rules_median_ms", ask["median"], "<", TARGET_ASK_MS))
    result.checks.append(Check("open_breaker_skip_p99_ms", skip["p99"], "<", TARGET_SKIP_MS))
    return result
