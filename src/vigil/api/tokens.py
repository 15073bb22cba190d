"""API tokens: created once, shown once, stored only as a hash.

A token is ``vgl_`` followed by 43 random URL-safe characters (256 bits from ``secrets``). The
database keeps its SHA-256 (a slow hash buys nothing for 256 random bits), a name, when it was
made, and when it was revoked. Checking a token hashes it and looks the hash up; the answer is
cached for :data:`CACHE_S` seconds so a flood of requests does not queue on the database, which
is also how long a revocation made by another process may take to be noticed.

Table (namespace ``tokens``)::

    api_tokens  id | name (unique among live tokens) | hash (unique) | prefix | created | revoked

This module imports no web framework: ``vigil token list`` stays fast.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from vigil.clock import Clock, isoformat
from vigil.errors import NotFoundError, UsageError
from vigil.storage import Database, apply_migrations, new_id, sql

PREFIX = "vgl_"
CACHE_S = 1.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

MIGRATIONS = [
    sql(
        """CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created TEXT NOT NULL,
            revoked TEXT
        )""",
        "CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked IS NULL",
    )
]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    name: str
    prefix: str
    created: str
    revoked: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created": self.created,
            "revoked": self.revoked,
        }


class TokenStore:
    """Create, list, revoke and check API tokens."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._cache: dict[str, tuple[float, TokenRecord | None]] = {}
        apply_migrations(db, "tokens", MIGRATIONS)

    def create(self, name: str) -> tuple[TokenRecord, str]:
        """A new token called ``name``; returns its record and the token (shown only now)."""
        if not _NAME.match(name):
            raise UsageError(
                f"invalid token name {name!r}: use letters, digits, '.', '_' or '-' (64 at most)"
            )
        token = PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(
            id=new_id("tok"),
            name=name,
            prefix=token[:8],
            created=isoformat(self.clock.now()),
            revoked=None,
        )
        with self.db.transaction() as conn:
            taken = conn.execute(
                "SELECT 1 FROM api_tokens WHERE name = ? AND revoked IS NULL", (name,)
            ).fetchone()
            if taken:
                raise UsageError(f"a token called {name!r} exists already (revoke it first)")
            conn.execute(
                "INSERT INTO api_tokens (id, name, hash, prefix, created) VALUES (?, ?, ?, ?, ?)",
                (record.id, name, digest(token), record.prefix, record.created),
            )
        return record, token

    def list(self, *, include_revoked: bool = False) -> list[TokenRecord]:
        rows = self.db.query(
            "SELECT id, name, prefix, created, revoked FROM api_tokens"
            " WHERE ? OR revoked IS NULL ORDER BY created, id",
            (include_revoked,),
        )
        return [TokenRecord(*row) for row in rows]

    def revoke(self, name_or_id: str) -> TokenRecord:
        """Revoke the live token with this name or id."""
        when = isoformat(self.clock.now())
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, name, prefix, created FROM api_tokens"
                " WHERE (name = ? OR id = ?) AND revoked IS NULL",
                (name_or_id, name_or_id),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no live token called {name_or_id!r}")
            conn.execute("UPDATE api_tokens SET revoked = ? WHERE id = ?", (when, row[0]))
        self._cache.clear()
        return TokenRecord(row[0], row[1], row[2], row[3], when)

    def cached(self, token: str) -> tuple[bool, TokenRecord | None]:
        """``(True, answer)`` when :meth:`check` would answer from its cache (no database)."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return True, None
        cached = self._cache.get(digest(token))
        if cached is not None and self.clock.monotonic() - cached[0] < CACHE_S:
            return True, cached[1]
        return False, None

    def check(self, token: str) -> TokenRecord | None:
        """The live token's record, or ``None``: unknown, revoked or malformed."""
        hit, answer = self.cached(token)
        if hit:
            return answer
        key = digest(token)
        row = self.db.query_one(
            "SELECT id, name, prefix, created, revoked, hash FROM api_tokens WHERE hash = ?",
            (key,),
        )
        record = None
        if row is not None and row[4] is None and hmac.compare_digest(row[5], key):
            record = TokenRecord(row[0], row[1], row[2], row[3], None)
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[key] = (self.clock.monotonic(), record)
        return record
