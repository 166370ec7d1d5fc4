"""People signed in to the grants page (table grant_sessions)."""

from __future__ import annotations

from dataclasses import dataclass

from gondulf.storage.records import GrantsSession
from gondulf.storage.sqlite.executor import Executor


@dataclass(frozen=True)
class SQLiteGrantsSessions:
    db: Executor

    async def create(self, session: GrantsSession, created_at: int) -> None:
        await self.db.execute(
            "INSERT INTO grant_sessions (id_hash, me, csrf_secret, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (session.id_hash, session.me, session.csrf, created_at, session.expires_at),
        )

    async def get(self, id_hash: str, now: int) -> GrantsSession | None:
        row = await self.db.fetchone(
            "SELECT id_hash, me, csrf_secret, expires_at FROM grant_sessions "
            "WHERE id_hash = ? AND expires_at > ?",
            (id_hash, now),
        )
        if row is None:
            return None
        return GrantsSession(row["id_hash"], row["me"], row["csrf_secret"], row["expires_at"])

    async def end(self, id_hash: str) -> None:
        await self.db.execute("DELETE FROM grant_sessions WHERE id_hash = ?", (id_hash,))
