"""Measure knowledge-base search latency at scale (not a test; run it by hand).

    .venv/bin/python -m tests.memory.kb_search_latency [--entries 100000] [--db PATH]

Prints p50/p99 in milliseconds for rare two-word, mixed (rare + common) and all-common queries.
The database is built once at ``--db`` and reused on the next run.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.memory.corpus import populate, vocabulary
from vigil.clock import SystemClock
from vigil.memory import KnowledgeBase
from vigil.storage import Database


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/vigil-kb-latency.db"))
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    db = Database(args.db)
    kb = KnowledgeBase(db, SystemClock())
    missing = args.entries - kb.count()
    if missing > 0:
        started = time.perf_counter()
        populate(db, kb, missing, seed=int(datetime.now(UTC).timestamp()))
        print(f"populated {missing} entries in {time.perf_counter() - started:.1f} s")
    words = vocabulary()
    rng = random.Random(1)
    rare = words[2000:]
    queries: dict[str, Callable[[], str]] = {
        "rare 2-word": lambda: f"{rng.choice(rare)} {rng.choice(rare)}",
        "mixed": lambda: f"{rng.choice(rare)} error {rng.choice(words[:200])}",
        "all-common": lambda: rng.choice(["error test", "test error failed", "failed test"]),
        "common+dev": lambda: f"error test {rng.choice(words[:40])}",
        "prefix": lambda: f"error {rng.choice(words[:100])[:3]}",
    }
    print(f"{kb.count()} entries, {args.runs} queries each (ms)")
    for label, make in queries.items():
        samples = []
        for _ in range(args.runs):
            query = make()
            started = time.perf_counter()
            kb.search(query, limit=10)
            samples.append((time.perf_counter() - started) * 1000)
        p50, p99 = percentiles(samples)
        print(f"  {label:<12} p50 {p50:6.2f}  p99 {p99:6.2f}")
    for label, query in (("all-common", "error test"), ("mixed", "w5000x error")):
        plan = kb.explain(query)
        print(
            f"  plan {label}: {plan.strategy}, "
            + ", ".join(f"{w.text}~{w.df}{'' if w.exact_df else '(est)'}" for w in plan.words)
        )
    db.close()


if __name__ == "__main__":
    main()
