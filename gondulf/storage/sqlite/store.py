"""The SQLite Store: every repository over one Database (or one of its transactions)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from gondulf.errors import DatabaseError
from gondulf.storage.records import Health
from gondulf.storage.repositories import Store
from gondulf.storage.sqlite.clients import SQLiteClientCache
from gondulf.storage.sqlite.codes import SQLiteAuthorizationCodes
from gondulf.storage.sqlite.database import Database
from gondulf.storage.sqlite.domains import SQLiteDomains
from gondulf.storage.sqlite.executor import Executor
from gondulf.storage.sqlite.grants_sessions import SQLiteGrantsSessions
from gondulf.storage.sqlite.passkeys import SQLitePasskeyChallenges, SQLitePasskeys
from gondulf.storage.sqlite.rate_limits import SQLiteRateLimits
from gondulf.storage.sqlite.resource_servers import SQLiteResourceServers
from gondulf.storage.sqlite.sessions import SQLiteSignInSessions
from gondulf.storage.sqlite.tokens import SQLiteTokens

# Used codes and expired or revoked tokens are kept a day longer, so a replayed code or a
# reused refresh token is still recognised (and answered by revoking what it produced).
GRACE = 24 * 3600
RATE_LIMIT_KEEP = 24 * 3600
# Each purge deletes at most PURGE_BATCH rows a statement (its own transaction) and yields
# between batches: other requests (and other processes) write in between, however large
# the backlog.
PURGE_BATCH = 500
PURGES = {
    "sign-in sessions": ("auth_sessions", "expires_at <= :now"),
    "grants page sessions": ("grant_sessions", "expires_at <= :now"),
    "authorization codes": ("authorization_codes", "expires_at <= :now - :grace"),
    "tokens": ("tokens", "expires_at <= :now - :grace OR revoked_at <= :now - :grace"),
    "rate-limit counters": ("rate_limits", "window_start <= :now - :keep"),
    "cached client information": ("client_cache", "expires_at <= :now"),
    "passkey challenges": ("passkey_challenges", "expires_at <= :now"),
}


class SQLiteStore:
    def __init__(self, db: Database, executor: Executor | None = None) -> None:
        self.database = db
        executor = executor or db
        self.sessions = SQLiteSignInSessions(executor)
        self.codes = SQLiteAuthorizationCodes(executor)
        self.tokens = SQLiteTokens(executor)
        self.clients = SQLiteClientCache(executor)
        self.domains = SQLiteDomains(executor)
        self.resource_servers = SQLiteResourceServers(executor)
        self.limits = SQLiteRateLimits(executor)
        self.grants_sessions = SQLiteGrantsSessions(executor)
        self.passkeys = SQLitePasskeys(executor)
        self.passkey_challenges = SQLitePasskeyChallenges(executor)
        self._in_transaction = executor is not db

    @classmethod
    async def open(cls, path: Path, *, on_busy: Callable[[], None] | None = None) -> SQLiteStore:
        """`on_busy` is called each time a call gives up waiting for the database."""
        return cls(await Database.open(path, on_busy=on_busy))

    @property
    def path(self) -> Path:
        return self.database.path

    async def close(self) -> None:
        await self.database.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        if self._in_transaction:
            yield self
            return
        async with self.database.transaction() as tx:
            yield SQLiteStore(self.database, tx)

    async def purge(self, now: int) -> dict[str, int]:
        params = {"now": now, "grace": GRACE, "keep": RATE_LIMIT_KEEP, "batch": PURGE_BATCH}
        removed = {}
        for name, (table, condition) in PURGES.items():
            removed[name] = 0
            while True:
                deleted = await self.database.execute(
                    f"DELETE FROM {table} WHERE rowid IN "
                    f"(SELECT rowid FROM {table} WHERE {condition} LIMIT :batch)",
                    params,
                )
                removed[name] += deleted
                if deleted < PURGE_BATCH:
                    break
                await asyncio.sleep(0)  # let waiting requests in between batches
        return removed

    async def health(self, now: int) -> Health:
        read = self.database.probe_read()
        write = await asyncio.to_thread(self.database.probe_write, now)
        return Health(read, write)

    async def ping(self) -> None:
        try:
            await self.database.fetchone("SELECT count(*) FROM schema_migrations")
        except (sqlite3.Error, ValueError) as exc:
            raise DatabaseError(f"database unusable: {exc}") from exc
