"""A synthetic but realistic knowledge base: fixes written the way developers write them.

Entries are sentences from templates, filled from three vocabularies, deterministic per seed:

- *common* words that nearly every entry holds ("error" in ~85%, "test" in ~90%, "failed" in
  ~60%, plus "the", "fix", "when"...): the queries a planner must survive;
- ~200 *developer* words (postgres, fixture, timeout...) drawn uniformly: each in a few % of
  entries;
- a long tail of project identifiers (``orderledger``, ``kafkasettle``: two roots joined) drawn
  with Zipf weights: most are rare, which is what a precise query names.

:class:`Corpus` also keeps each word's document frequency (counted here, in Python), so the
search section can pick rare, mixed and all-common queries whose class is known, not guessed.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

ERRORS = (
    "AssertionError",
    "TimeoutError",
    "KeyError",
    "ValueError",
    "TypeError",
    "AttributeError",
    "ImportError",
    "ModuleNotFoundError",
    "ConnectionRefusedError",
    "PermissionError",
    "IntegrityError",
    "OperationalError",
    "RecursionError",
    "UnicodeDecodeError",
    "FileNotFoundError",
    "RuntimeError",
    "DeadlockDetected",
    "SSLError",
    "JSONDecodeError",
    "IndexError",
)
_DEV_TEXT = (
    "postgres redis kafka rabbitmq sqlite mysql docker compose kubernetes helm nginx gunicorn "
    "uvicorn celery worker queue broker timeout retry backoff deadlock lock transaction "
    "migration schema index constraint foreign unique column table cursor connection pool "
    "socket port bind address refused reset handshake certificate expired proxy dns resolver "
    "fixture mock patch monkeypatch parametrize conftest tmp_path capsys caplog marker plugin "
    "coverage xdist flaky order isolation leak thread async await loop coroutine task future "
    "cancel shutdown signal subprocess pipe stdout stderr encoding unicode locale timezone "
    "utc naive aware datetime clock freeze sleep jitter cache invalidation stale ttl eviction "
    "memory heap oom gc reference cycle import circular module package version pin lockfile "
    "wheel build cython extension compiler linker header abi glibc musl alpine image layer "
    "registry token secret credential auth oauth session cookie csrf header cors redirect "
    "payload json yaml toml schema validation serializer pydantic dataclass enum decimal float "
    "rounding precision overflow boundary empty null default config env variable path relative "
    "absolute symlink permission chmod umask disk quota inode tmpdir cleanup teardown setup "
    "startup readiness healthcheck probe endpoint route handler middleware request response "
    "status pagination cursor offset limit sort filter query join orm session commit rollback"
)
DEV_WORDS: tuple[str, ...] = tuple(_DEV_TEXT.split())
_ROOTS_TEXT = (
    "order ledger invoice refund payment cart checkout price tax discount coupon shipment "
    "parcel stock warehouse supplier catalog product variant review rating search ranking "
    "feed notify email sms webhook audit report export import sync batch nightly cron "
    "tenant account user profile avatar upload media thumb render template locale "
    "geo route map fleet driver trip fare quote bid auction wallet ledger settle "
    "kafka stream event bus relay gateway edge auth token vault secret policy quota meter "
    "billing plan trial churn cohort funnel metric gauge trace span probe alert pager"
)
ROOTS: tuple[str, ...] = tuple(_ROOTS_TEXT.split())
TAGS = (
    "ci",
    "flaky",
    "infra",
    "db",
    "frontend",
    "backend",
    "security",
    "perf",
    "python",
    "pytest",
    "docker",
    "network",
    "deps",
    "migration",
    "async",
    "config",
)
COMMON_SHARE = {"error": 0.85, "test": 0.9, "failed": 0.6}


def tail_vocabulary() -> list[str]:
    """Project identifiers, most frequent first: every ordered pair of distinct roots, shuffled."""
    roots = list(dict.fromkeys(ROOTS))
    words = [a + b for a, b in itertools.permutations(roots, 2)]
    random.Random(0).shuffle(words)
    return words


@dataclass(frozen=True, slots=True)
class Draft:
    """One entry's fields, ready for ``KnowledgeBase.add``."""

    kind: str
    title: str
    body: str
    tags: tuple[str, ...]
    fingerprints: tuple[str, ...]
    words: frozenset[str]  # the lower-case words it holds (title, body, tags)


@dataclass
class Corpus:
    """A deterministic stream of drafts, counting each word's document frequency."""

    seed: int = 7
    df: Counter[str] = field(default_factory=Counter)
    size: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._tail = tail_vocabulary()
        self._tail_weights = list(
            itertools.accumulate(1.0 / (rank + 1) ** 1.05 for rank in range(len(self._tail)))
        )

    def drafts(self, count: int) -> Iterator[Draft]:
        for _ in range(count):
            draft = self._draft()
            self.size += 1
            self.df.update(draft.words)
            yield draft

    def _draft(self) -> Draft:
        rng = self._rng
        tail = rng.choices(self._tail, cum_weights=self._tail_weights, k=4)
        dev = rng.sample(DEV_WORDS, 8)
        error = rng.choice(ERRORS)
        test_word = "test" if rng.random() < COMMON_SHARE["test"] else "check"
        title = f"{error} in {tail[0]} when {dev[0]} {dev[1]} is {rng.choice(_STATES)}"
        sentences = [
            f"The {test_word} {test_word}_{tail[0]}_{dev[2]} {_failed(rng)} with {error} "
            f"after the {dev[3]} change in {tail[1]}.",
            f"Root cause: {dev[4]} {rng.choice(_CAUSES)} so {tail[2]} saw a stale {dev[5]}.",
            f"Fix: {rng.choice(_FIXES)} {dev[6]} in {tail[3]}, then rerun the suite.",
        ]
        if rng.random() < COMMON_SHARE["error"]:
            sentences.append(f"The error message names {dev[7]} and the {tail[1]} worker.")
        if rng.random() < 0.5:
            runner, minor = rng.randint(1, 40), rng.randint(9, 13)
            sentences.append(f"Seen on CI runner {runner} and locally with Python 3.{minor}.")
        rng.shuffle(sentences)
        body = "\n".join(sentences)
        tags = tuple(rng.sample(TAGS, rng.randint(1, 3)))
        fingerprints = tuple(f"{rng.getrandbits(64):016x}" for _ in range(rng.randint(0, 2)))
        words = frozenset(_words(f"{title} {body} {' '.join(tags)}"))
        kind = "fix" if rng.random() < 0.8 else rng.choice(("mistake", "pattern", "note"))
        return Draft(kind, title, body, tags, fingerprints, words)


_STATES = ("empty", "missing", "stale", "locked", "slow", "unset", "duplicated", "expired")
_CAUSES = (
    "was not awaited",
    "was shared between workers",
    "leaked from a previous run",
    "changed its default",
    "raced with the cleanup",
    "was read before it was written",
    "used the local timezone",
)
_FIXES = ("pin", "reset", "isolate", "await", "mock", "retry around", "close", "recreate")


def _failed(rng: random.Random) -> str:
    return "failed" if rng.random() < COMMON_SHARE["failed"] else "broke"


def _words(text: str) -> list[str]:
    """Lower-case runs of letters and digits, as the index's tokenizer splits them."""
    out: list[str] = []
    word: list[str] = []
    for ch in text.lower():
        if ch.isalnum():
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out
