"""A synthetic knowledge base for search tests and the latency measurement (no I/O but SQLite).

Words follow a Zipf distribution over a vocabulary of real developer words followed by synthetic
ones (``w1234x``); on top, ``error`` is in ~90% of entries, ``test`` in ~80% and ``failed`` in
~50%, so those are the "very common words" the planner must survive.
"""

from __future__ import annotations

import itertools
import random

from vigil.memory import KINDS, KnowledgeBase
from vigil.storage import Database

_DEV_TEXT = (
    "build timeout redis connection refused import module assert expected got null pointer "
    "cache flaky retry deadlock migration schema database lock permission denied docker image "
    "network dns certificate expired memory leak heap stack overflow segfault compile linker "
    "dependency version conflict lockfile yarn npm pip poetry cargo gradle maven webpack vite "
    "typescript mypy ruff eslint jest pytest fixture mock patch race condition thread async "
    "await event loop socket port bind address already use config env variable secret token "
    "auth login session cookie header json yaml parse syntax encoding utf unicode path file "
    "directory missing found disk full quota rate limit throttle backoff circuit breaker"
)
DEV_WORDS = _DEV_TEXT.split()
COMMON = {"error": 0.9, "test": 0.8, "failed": 0.5}
TAGS = ("ci", "flaky", "infra", "db", "frontend", "backend", "security", "perf")


def vocabulary(size: int = 20_000) -> list[str]:
    """Real words first (the most frequent), then synthetic ones."""
    return DEV_WORDS + [f"w{i}x" for i in range(size - len(DEV_WORDS))]


def populate(db: Database, kb: KnowledgeBase, count: int, seed: int = 7) -> list[str]:
    """Add ``count`` synthetic entries in one transaction; returns the vocabulary used."""
    rng = random.Random(seed)
    words = vocabulary()
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))
    with db.transaction():
        for _ in range(count):
            body = rng.choices(words, cum_weights=cumulative, k=rng.randint(30, 80))
            body += [word for word, share in COMMON.items() if rng.random() < share]
            rng.shuffle(body)
            title = rng.choices(words, cum_weights=cumulative, k=rng.randint(4, 8))
            kb.add(
                rng.choice(KINDS),
                " ".join(title),
                body=" ".join(body),
                tags=rng.sample(TAGS, rng.randint(0, 2)),
                fingerprints=[f"{rng.getrandbits(64):016x}"] if rng.random() < 0.3 else [],
                status="candidate" if rng.random() < 0.1 else "active",
                confidence=round(rng.random(), 2),
            )
    return words
