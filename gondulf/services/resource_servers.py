"""Resource servers (Micropub endpoints, readers) the operator lets introspect tokens.

Each gets one credential, shown once and stored only as a SHA-256 digest; it
is sent as `Authorization: Bearer CREDENTIAL` or as the password of HTTP Basic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gondulf.errors import UsageError
from gondulf.services.digests import new_id, new_secret, token_digest
from gondulf.storage.database import Database


@dataclass(frozen=True)
class ResourceServer:
    id: str
    name: str
    created_at: int
    last_used_at: int | None


class ResourceServerStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, name: str) -> tuple[ResourceServer, str]:
        """A new resource server and its credential (the only time it is known)."""
        name = name.strip()
        if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
            raise UsageError("the name must be 1 to 100 printable characters")
        if await self._db.fetchone("SELECT 1 FROM resource_servers WHERE name = ?", (name,)):
            raise UsageError(f"a resource server named {name!r} already exists")
        credential = "grs_" + new_secret()
        server = ResourceServer(new_id(), name, int(time.time()), None)
        await self._db.execute(
            "INSERT INTO resource_servers (id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)",
            (server.id, name, token_digest(credential), server.created_at))
        return server, credential

    async def list(self) -> list[ResourceServer]:
        rows = await self._db.fetchall(
            "SELECT id, name, created_at, last_used_at FROM resource_servers ORDER BY name")
        return [ResourceServer(**dict(row)) for row in rows]

    async def remove(self, name_or_id: str) -> bool:
        return await self._db.execute(
            "DELETE FROM resource_servers WHERE name = ? OR id = ?", (name_or_id, name_or_id)) > 0

    async def authenticate(self, credential: str) -> ResourceServer | None:
        row = self._db.read_one(
            "SELECT id, name, created_at, last_used_at FROM resource_servers "
            "WHERE secret_hash = ?", (token_digest(credential),))
        if row is None:
            return None
        server = ResourceServer(**dict(row))
        now = int(time.time())
        if server.last_used_at is None or now - server.last_used_at >= 60:
            await self._db.execute("UPDATE resource_servers SET last_used_at = ? WHERE id = ?",
                                   (now, server.id))
        return server
