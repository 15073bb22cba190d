"""Predictions from the user's own run history, each with its evidence and a back-tested hit rate.

Two predictors, both learned from the ``runs`` projection and the triage of failed runs (run
outputs are never read):

- **change -> failure**: "after a change to ``calc.py``, ``test_calc.py::test_add`` fails". A
  run's *changes* are the files whose git blob differs from the previous run of the same command
  in the same directory (``git.blobs``), its *failures* the tests (else files) its triage named.
  For each file and failing test: how often the file changed (``changed``) and how often the test
  failed in those runs (``co_failed``).
- **next command**: "after ``make build`` you usually run ``pytest -q``", from consecutive runs in
  the same directory.

Hit rates are measured by replaying the history in order: before each run, every rule that the
history *so far* supports (at least ``min_evidence`` observations and a conditional frequency of
at least one half) makes its prediction, which then counts as a hit or a miss against what really
happened. A prediction is offered only when its own rule was back-tested at least
``min_evidence`` times; with too little history, :func:`predict` says so instead
(``Predictions.note``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.storage import Database

HISTORY = 2000  # runs read, newest first
MIN_SHARE = 0.5  # a rule fires when its conditional frequency is at least this


@dataclass(frozen=True)
class RunFacts:
    """What one run tells the predictors."""

    seq: int
    command: str
    cwd: str
    failed: bool
    changed: frozenset[str]
    failures: frozenset[str]


@dataclass
class Rule:
    """One learned association and its back-test."""

    kind: str  # "change_failure" | "next_command"
    cause: str  # the changed file, or the command before
    effect: str  # the failing test, or the next command
    command: str  # the command it is about
    support: int = 0  # times the cause was seen
    together: int = 0  # times the effect followed
    tried: int = 0  # back-test: predictions made
    hits: int = 0  # back-test: predictions that came true

    @property
    def share(self) -> float:
        return self.together / self.support if self.support else 0.0

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.tried if self.tried else None

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "change_failure":
            text = f"after a change to {self.cause}, {self.effect} fails ({self.command})"
            evidence = (
                f"{self.cause} changed in {self.support} runs of {self.command};"
                f" {self.effect} failed in {self.together} of them"
            )
        else:
            text = f"after `{self.cause}` you run `{self.effect}`"
            evidence = (
                f"`{self.cause}` was followed by `{self.effect}`"
                f" {self.together} of {self.support} times"
            )
        return {
            "kind": self.kind,
            "text": text,
            "cause": self.cause,
            "effect": self.effect,
            "command": self.command,
            "evidence": evidence,
            "support": self.support,
            "together": self.together,
            "hit_rate": round(self.hit_rate or 0.0, 3),
            "backtested": self.tried,
            "hits": self.hits,
        }


@dataclass
class Predictions:
    """The rules worth mentioning, the overall back-test, and a note when data is too thin."""

    rules: list[Rule] = field(default_factory=list)
    runs: int = 0
    tried: int = 0
    hits: int = 0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "predictions": [r.to_dict() for r in self.rules],
            "runs": self.runs,
            "backtest": {
                "tried": self.tried,
                "hits": self.hits,
                "hit_rate": round(self.hits / self.tried, 3) if self.tried else None,
            },
            "note": self.note,
        }

    def for_run(self, command: str, changed: Iterable[str], min_hit_rate: float) -> list[Rule]:
        """Rules about ``command`` that this run's changes trigger, good enough to mention."""
        files = set(changed)
        return [
            r
            for r in self.rules
            if r.kind == "change_failure"
            and r.command == command
            and r.cause in files
            and (r.hit_rate or 0.0) >= min_hit_rate
        ]


def load_runs(db: Database, limit: int = HISTORY) -> list[RunFacts]:
    """The last ``limit`` runs, oldest first, with their changes and failing tests."""
    rows = db.query(
        "SELECT r.seq, r.subject, r.cwd, r.status, json_extract(e.data, '$.git.blobs') AS blobs,"
        " (SELECT json_extract(t.data, '$.failures') FROM events t WHERE t.causation_id ="
        " r.event_id AND t.type = 'triage.completed' LIMIT 1) AS failures"
        " FROM runs r JOIN events e ON e.id = r.event_id ORDER BY r.seq DESC LIMIT ?",
        (limit,),
    )
    facts: list[RunFacts] = []
    previous: dict[tuple[str, str], dict[str, str]] = {}
    for row in reversed(rows):
        key = (str(row["subject"]), str(row["cwd"]))
        blobs = _json_object(row["blobs"])
        before = previous.get(key)
        changed: set[str] = set()
        if before is not None:
            changed = {p for p in set(blobs) | set(before) if blobs.get(p) != before.get(p)}
        previous[key] = blobs
        failures = {_failure_name(f) for f in _json_list(row["failures"]) if isinstance(f, Mapping)}
        facts.append(
            RunFacts(
                int(row["seq"]),
                key[0],
                key[1],
                row["status"] == "failed",
                frozenset(changed),
                frozenset(f for f in failures if f),
            )
        )
    return facts


def predict(runs: Sequence[RunFacts], min_evidence: int = 5) -> Predictions:
    """Learn the rules from ``runs`` (oldest first) and back-test them on the same history."""
    rules: dict[tuple[str, str, str, str], Rule] = {}
    changed_count: Counter[tuple[str, str]] = Counter()
    after_count: Counter[tuple[str, str]] = Counter()
    last_command: dict[str, str] = {}
    result = Predictions(runs=len(runs))

    def rule(kind: str, cause: str, effect: str, command: str) -> Rule:
        key = (kind, cause, effect, command)
        if key not in rules:
            rules[key] = Rule(kind, cause, effect, command)
        return rules[key]

    by_cause: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for run in runs:
        # 1. back-test: what the history so far predicts for this run
        for path in run.changed:
            for test in by_cause[("change_failure", path, run.command)]:
                r = rules[("change_failure", path, test, run.command)]
                if r.support >= min_evidence and r.share >= MIN_SHARE:
                    r.tried += 1
                    r.hits += test in run.failures
                    result.tried += 1
                    result.hits += test in run.failures
        before = last_command.get(run.cwd)
        if before is not None:
            options = [
                rules[("next_command", before, effect, "")]
                for effect in by_cause[("next_command", before, "")]
            ]
            best = max(options, key=lambda r: (r.together, r.effect), default=None)
            if best is not None and best.support >= min_evidence and best.share >= MIN_SHARE:
                best.tried += 1
                best.hits += best.effect == run.command
                result.tried += 1
                result.hits += best.effect == run.command
        # 2. learn from this run
        for path in run.changed:
            changed_count[(path, run.command)] += 1
            for test in run.failures:
                by_cause[("change_failure", path, run.command)].add(test)
                rule("change_failure", path, test, run.command)
            for test in by_cause[("change_failure", path, run.command)]:
                r = rules[("change_failure", path, test, run.command)]
                r.support = changed_count[(path, run.command)]
                r.together += test in run.failures
        if before is not None:
            after_count[(before, run.cwd)] += 1
            by_cause[("next_command", before, "")].add(run.command)
            rule("next_command", before, run.command, "").together += 1
            for effect in by_cause[("next_command", before, "")]:
                rules[("next_command", before, effect, "")].support = sum(
                    rules[("next_command", before, e, "")].together
                    for e in by_cause[("next_command", before, "")]
                )
        last_command[run.cwd] = run.command
    offered = [
        r
        for r in rules.values()
        if r.support >= min_evidence and r.share >= MIN_SHARE and r.tried >= min_evidence
    ]
    offered.sort(key=lambda r: (-(r.hit_rate or 0.0), -r.tried, r.kind, r.cause, r.effect))
    result.rules = offered
    if not offered:
        result.note = (
            f"not enough history to predict yet ({len(runs)} runs; a prediction needs a pattern"
            f" seen at least {min_evidence} times and back-tested at least {min_evidence} times)"
        )
    return result


def _failure_name(failure: Mapping[str, Any]) -> str:
    test = failure.get("test")
    if test:
        return str(test)
    return str(failure.get("file") or "")


def _json_object(text: object) -> dict[str, str]:
    try:
        value = json.loads(str(text)) if text else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _json_list(text: object) -> list[Any]:
    try:
        value = json.loads(str(text)) if text else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []
