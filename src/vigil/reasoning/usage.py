"""Shared provider bookkeeping: today's usage per provider (for budgets) and rate-limit
cooldowns (a 429's ``Retry-After``), stored so every Vigil process respects them."""

from __future__ import annotations

from vigil.clock import Clock
from vigil.storage import Database, apply_migrations, sql

MIGRATIONS = [
    sql(
        """CREATE TABLE provider_usage (
            provider TEXT NOT NULL,
            day TEXT NOT NULL,
            calls INTEGER NOT NULL DEFAULT 0,
            tokens INTEGER NOT NULL DEFAULT 0,
            cost REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (provider, day)
        ) WITHOUT ROWID""",
        """CREATE TABLE provider_cooldowns (
            provider TEXT PRIMARY KEY,
            until REAL NOT NULL,
            reason TEXT NOT NULL
        )""",
    )
]


class UsageStore:
    """Per-provider daily usage and cooldowns (wall-clock epoch seconds)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        apply_migrations(db, "reasoning", MIGRATIONS)

    def _day(self) -> str:
        return self.clock.now().strftime("%Y-%m-%d")

    def today(self, provider: str) -> tuple[int, float]:
        """Tokens and cost spent today (UTC day)."""
        row = self.db.query_one(
            "SELECT tokens, cost FROM provider_usage WHERE provider = ? AND day = ?",
            (provider, self._day()),
        )
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    def add(self, provider: str, tokens: int, cost: float) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO provider_usage (provider, day, calls, tokens, cost)"
                " VALUES (?, ?, 1, ?, ?) ON CONFLICT (provider, day) DO UPDATE SET"
                " calls = calls + 1, tokens = tokens + excluded.tokens,"
                " cost = cost + excluded.cost",
                (provider, self._day(), tokens, cost),
            )

    def cool_down(self, provider: str, seconds: float, reason: str) -> None:
        until = self.clock.now().timestamp() + seconds
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO provider_cooldowns (provider, until, reason) VALUES (?, ?, ?)"
                " ON CONFLICT (provider) DO UPDATE SET until = MAX(until, excluded.until),"
                " reason = excluded.reason",
                (provider, until, reason),
            )

    def cooldown(self, provider: str) -> float:
        """Seconds this provider must still be left alone (0 when it may be called)."""
        row = self.db.query_one(
            "SELECT until FROM provider_cooldowns WHERE provider = ?", (provider,)
        )
        if row is None:
            return 0.0
        return max(0.0, float(row[0]) - self.clock.now().timestamp())
