"""Resource servers allowed to introspect (table resource_servers)."""

from __future__ import annotations

from dataclasses import dataclass

from gondulf.storage.records import ResourceServer
from gondulf.storage.sqlite.executor import Executor

COLUMNS = "id, name, created_at, last_used_at"


@dataclass(frozen=True)
class SQLiteResourceServers:
    db: Executor

    async def named(self, name: str) -> ResourceServer | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM resource_servers WHERE name = ?", (name,)
        )
        return ResourceServer(**dict(row)) if row else None

    async def insert(self, server: ResourceServer, secret_hash: str) -> None:
        await self.db.execute(
            "INSERT INTO resource_servers (id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)",
            (server.id, server.name, secret_hash, server.created_at),
        )

    async def list(self) -> list[ResourceServer]:
        rows = await self.db.fetchall(f"SELECT {COLUMNS} FROM resource_servers ORDER BY name")
        return [ResourceServer(**dict(row)) for row in rows]

    async def remove(self, name_or_id: str) -> bool:
        return (
            await self.db.execute(
                "DELETE FROM resource_servers WHERE name = ? OR id = ?", (name_or_id, name_or_id)
            )
            > 0
        )

    async def by_secret_hash(self, secret_hash: str) -> ResourceServer | None:
        row = await self.db.fast_fetchone(
            f"SELECT {COLUMNS} FROM resource_servers WHERE secret_hash = ?", (secret_hash,)
        )
        return ResourceServer(**dict(row)) if row else None

    async def touch(self, server_id: str, at: int) -> None:
        await self.db.execute(
            "UPDATE resource_servers SET last_used_at = ? WHERE id = ?", (at, server_id)
        )
