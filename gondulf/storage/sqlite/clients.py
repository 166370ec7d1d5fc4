"""Client information cached as its Cache-Control allows (table client_cache)."""

from __future__ import annotations

from dataclasses import dataclass

from gondulf.indieauth.clients import ClientInfo
from gondulf.storage.sqlite.executor import Executor


@dataclass(frozen=True)
class SQLiteClientCache:
    db: Executor

    async def get(self, client_id: str, now: int) -> ClientInfo | None:
        row = await self.db.fetchone(
            "SELECT info FROM client_cache WHERE client_id = ? AND expires_at > ?", (client_id, now)
        )
        return ClientInfo.from_json(row["info"]) if row else None

    async def put(self, info: ClientInfo, fetched_at: int, expires_at: int) -> None:
        await self.db.execute(
            "INSERT INTO client_cache (client_id, info, fetched_at, expires_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET info = excluded.info, "
            "fetched_at = excluded.fetched_at, expires_at = excluded.expires_at",
            (info.client_id, info.to_json(), fetched_at, expires_at),
        )
