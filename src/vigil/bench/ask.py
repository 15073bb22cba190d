"""ask: ``vigil ask`` end to end, as a person runs it, with the default chain and with rules.

A home with a real triaged failure; each sample is a whole ``vigil ask --json "why did the build
fail?"`` process (start-up, imports, the stores, the chain, the answer and its receipt).

- **default**: no providers configured and no cloud key in the environment: what a fresh install
  answers with (the embedded model is off by default for ``ask``: see the reasoning section).
  Target: p95 < 500 ms. The models that chain would try are reported (``step_models``).
- **rules**: a chain of just the rules provider (``config.toml``). Target: median < 300 ms.

Baseline, same run: ``vigil --version`` (start-up alone). Also the cost of skipping a provider
whose breaker is open (the chain's check, in process). Every process runs with Python's
compiled-module cache allowed, as in a user's shell (``PYTHONDONTWRITEBYTECODE`` is dropped).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result, vigil_home
from vigil.errors import ProviderUnavailable

TARGET_ASK_MS = 300.0
TARGET_DEFAULT_P95_MS = 500.0
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


def _timed(ctx: Context, home: Path, args: list[str], env: dict[str, str] | None = None) -> int:
    started = time.perf_counter_ns()
    done = subprocess.run(
        [str(ctx.vigil_script), *args],
        env=_as_a_user(env or ctx.env(home)),
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


def _home(ctx: Context, name: str, config: str | None) -> Path:
    """A home holding one failed build, triaged as the daemon would have."""
    home = ctx.directory(name)
    if config is not None:
        (home / "config.toml").write_text(config)
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

        with Vigil.open(load_settings()) as vigil:
            (failed,) = vigil.log.find(patterns=["build.run.failed"], limit=1)
            vigil.log.process(
                "triage",
                failed,
                lambda: (
                    [vigil.triage.completed_event(failed, vigil.triage.diagnose_event(failed))],
                    None,
                ),
            )
    return home


def _as_a_user(env: dict[str, str]) -> dict[str, str]:
    """``env`` as a user's shell has it: Python may cache compiled modules (a sandbox that sets
    PYTHONDONTWRITEBYTECODE makes every start compile Vigil's modules again, ~0.1 s here)."""
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _without_clouds(env: dict[str, str]) -> dict[str, str]:
    """``env`` without the keys that would put a cloud provider in the default chain."""
    from vigil.app.reasoning import KNOWN_CLOUDS

    return {k: v for k, v in env.items() if k not in {c[3] for c in KNOWN_CLOUDS}}


def _default_models(home: Path) -> list[str]:
    from vigil.app.reasoning import step_models
    from vigil.config import load_settings

    with vigil_home(home):
        env = _without_clouds(dict(os.environ))
        return list(step_models(load_settings(env=env), "ask"))


def _asks(ctx: Context, home: Path, n: int, env: dict[str, str] | None = None) -> list[int]:
    args = ["ask", "--json", "why did the build fail?"]
    for _ in range(2):  # warm the OS cache
        _timed(ctx, home, args, env)
    return [_timed(ctx, home, args, env) for _ in range(n)]


def run(ctx: Context) -> Result:
    n = ctx.size(20, 5)
    rules_home = _home(ctx, "ask-home", RULES)
    default_home = _home(ctx, "ask-default-home", None)
    default_env = _without_clouds(ctx.env(default_home))
    ctx.say(f"ask: {n} x vigil ask --json (default chain, rules), {n} x vigil --version")
    default_ns = _asks(ctx, default_home, n, default_env)
    ask_ns = _asks(ctx, rules_home, n)
    version_ns = [_timed(ctx, rules_home, ["--version"]) for _ in range(n)]
    skip_ns = _skip_cost(rules_home, ctx.size(2000, 200))
    result = Result()
    default = stats.latency(default_ns)
    ask = stats.latency(ask_ns)
    skip = stats.latency(skip_ns)
    result.figures["ask_default_end_to_end"] = default
    result.figures["default_chain_models"] = _default_models(default_home)
    result.figures["ask_rules_end_to_end"] = ask
    result.figures["open_breaker_skip"] = skip
    result.baseline["vigil_version"] = stats.latency(version_ns)
    version_p50 = result.baseline["vigil_version"]["p50"]
    result.ratio["ask_default_vs_version_p50"] = stats.ratio(default["p50"], version_p50)
    result.ratio["ask_vs_version_p50"] = stats.ratio(ask["p50"], version_p50)
    result.checks.append(Check("ask_default_p95_ms", default["p95"], "<", TARGET_DEFAULT_P95_MS))
    result.checks.append(Check("ask_rules_median_ms", ask["median"], "<", TARGET_ASK_MS))
    result.checks.append(Check("open_breaker_skip_p99_ms", skip["p99"], "<", TARGET_SKIP_MS))
    if result.figures["default_chain_models"]:
        result.notes.append(
            "the default chain here holds a model (Ollama listens on this machine): "
            "ask_default_end_to_end includes it"
        )
    return result
