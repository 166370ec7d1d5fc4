"""Resource servers (Micropub endpoints, readers) the operator lets introspect tokens.

Each gets one credential, shown once and stored only as a SHA-256 digest; it
is sent as `Authorization: Bearer CREDENTIAL` or as the password of HTTP Basic.
"""

from __future__ import annotations

import time

from gondulf.errors import UsageError
from gondulf.services.bookkeeping import Bookkeeping
from gondulf.services.digests import new_id, new_secret, token_digest
from gondulf.storage.records import ResourceServer
from gondulf.storage.repositories import ResourceServers

LAST_USED_RESOLUTION = 60


class ResourceServerService:
    def __init__(self, servers: ResourceServers, bookkeeping: Bookkeeping) -> None:
        self._servers = servers
        self._bookkeeping = bookkeeping

    async def add(self, name: str) -> tuple[ResourceServer, str]:
        """A new resource server and its credential (the only time it is known)."""
        name = name.strip()
        if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
            raise UsageError("the name must be 1 to 100 printable characters")
        if await self._servers.named(name) is not None:
            raise UsageError(f"a resource server named {name!r} already exists")
        credential = "grs_" + new_secret()
        server = ResourceServer(new_id(), name, int(time.time()), None)
        await self._servers.insert(server, token_digest(credential))
        return server, credential

    async def list(self) -> list[ResourceServer]:
        return await self._servers.list()

    async def remove(self, name_or_id: str) -> bool:
        return await self._servers.remove(name_or_id)

    async def authenticate(self, credential: str) -> ResourceServer | None:
        server = await self._servers.by_secret_hash(token_digest(credential))
        if server is None:
            return None
        now = int(time.time())
        if server.last_used_at is None or now - server.last_used_at >= LAST_USED_RESOLUTION:
            self._bookkeeping.note(
                f"resource-server:{server.id}", lambda: self._servers.touch(server.id, now)
            )
        return server
