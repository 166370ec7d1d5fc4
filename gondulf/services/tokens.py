"""Access tokens: opaque 256-bit strings, stored only as SHA-256 digests."""

from __future__ import annotations

import time
from dataclasses import dataclass

from gondulf.services.digests import new_secret, token_digest
from gondulf.storage.database import Database


@dataclass(frozen=True)
class TokenRecord:
    id: str
    me: str
    client_id: str
    scope: tuple[str, ...]
    created_at: int
    expires_at: int | None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: TokenRecord


class TokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue_access(self, *, me: str, client_id: str, scope: tuple[str, ...],
                           family_id: str, lifetime: int, now: float | None = None
                           ) -> IssuedToken:
        at = int(time.time() if now is None else now)
        token = new_secret()
        record = TokenRecord(new_secret()[:16], me, client_id, scope, at, at + lifetime)
        await self._db.execute(
            "INSERT INTO tokens (id, token_hash, kind, family_id, me, client_id, scope, "
            "created_at, expires_at) VALUES (?, ?, 'access', ?, ?, ?, ?, ?, ?)",
            (record.id, token_digest(token), family_id, me, client_id, " ".join(scope), at,
             record.expires_at),
        )
        return IssuedToken(token, record)

    async def verify(self, token: str, now: float | None = None) -> TokenRecord | None:
        """The live access token's record, or None if unknown, expired or revoked."""
        at = int(time.time() if now is None else now)
        row = await self._db.fetchone(
            "SELECT id, me, client_id, scope, created_at, expires_at FROM tokens "
            "WHERE token_hash = ? AND kind = 'access' AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (token_digest(token), at),
        )
        if row is None:
            return None
        return TokenRecord(row["id"], row["me"], row["client_id"], tuple(row["scope"].split()),
                           row["created_at"], row["expires_at"])

    async def revoke_family(self, family_id: str, now: float | None = None) -> int:
        at = int(time.time() if now is None else now)
        return await self._db.execute(
            "UPDATE tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            (at, family_id),
        )
