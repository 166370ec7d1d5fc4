"""Access and refresh tokens: opaque 256-bit strings, stored only as SHA-256 digests.

Every token of one sign-in shares a family (the digest of its authorization
code). A refresh token is rotated on every use; presenting a rotated one
again means it leaked, so the whole family is revoked (RFC 9700 §4.14.2).
Verification reads on the event loop's thread (Database.read_one): revocation
takes effect at once and no request waits for a worker thread.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Any

from gondulf.indieauth.errors import InvalidGrant, InvalidScope
from gondulf.services.digests import new_id, new_secret, token_digest
from gondulf.storage.database import Database, Row, Transaction

LAST_USED_RESOLUTION = 60  # seconds between writes of a token's last_used_at
COLUMNS = ("id, kind, family_id, me, client_id, client_name, scope, profile, created_at, "
           "expires_at, last_used_at, revoked_at, rotated_at")


@dataclass(frozen=True)
class TokenRecord:
    id: str
    kind: str
    family_id: str
    me: str
    client_id: str
    scope: tuple[str, ...]
    profile: dict[str, Any] | None
    created_at: int
    expires_at: int | None
    client_name: str | None = None
    last_used_at: int | None = None
    revoked_at: int | None = None
    rotated_at: int | None = None

    def active(self, now: float) -> bool:
        return self.revoked_at is None and self.rotated_at is None and (
            self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    access: TokenRecord
    refresh_token: str | None = None


def _record(row: Row) -> TokenRecord:
    return TokenRecord(
        id=row["id"], kind=row["kind"], family_id=row["family_id"], me=row["me"],
        client_id=row["client_id"], scope=tuple(row["scope"].split()),
        profile=json.loads(row["profile"]) if row["profile"] else None,
        created_at=row["created_at"], expires_at=row["expires_at"],
        client_name=row["client_name"], last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"], rotated_at=row["rotated_at"])


class TokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue(self, *, me: str, client_id: str, scope: tuple[str, ...],
                    profile: dict[str, Any] | None, family_id: str, access_lifetime: int,
                    refresh_lifetime: int | None, client_name: str | None = None,
                    now: float | None = None) -> IssuedTokens:
        """An access token, and a refresh token beside it when `refresh_lifetime` is set."""
        template = TokenRecord("", "access", family_id, me, client_id, scope, profile,
                               int(time.time() if now is None else now), None, client_name)
        async with self._db.transaction() as tx:
            return await self._insert(tx, template, access_lifetime, refresh_lifetime, None)

    async def _insert(self, tx: Transaction, template: TokenRecord, access_lifetime: int,
                      refresh_lifetime: int | None, parent_id: str | None) -> IssuedTokens:
        at = template.created_at
        access_token = new_secret()
        access = replace(template, id=new_id(), kind="access",
                         expires_at=at + access_lifetime)
        rows = [(access, access_token)]
        refresh_token = None
        if refresh_lifetime:
            refresh_token = new_secret()
            rows.append((replace(template, id=new_id(), kind="refresh",
                                 expires_at=at + refresh_lifetime), refresh_token))
        for record, token in rows:
            await tx.execute(
                "INSERT INTO tokens (id, token_hash, kind, family_id, parent_id, me, "
                "client_id, client_name, scope, profile, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.id, token_digest(token), record.kind, record.family_id, parent_id,
                 record.me, record.client_id, record.client_name, " ".join(record.scope),
                 json.dumps(record.profile) if record.profile else None, at,
                 record.expires_at))
        return IssuedTokens(access_token, access, refresh_token)

    def lookup(self, token: str) -> TokenRecord | None:
        """Any token by its value, live or not (a point lookup, no thread hop)."""
        row = self._db.read_one(f"SELECT {COLUMNS} FROM tokens WHERE token_hash = ?",
                                (token_digest(token),))
        return _record(row) if row else None

    async def verify(self, token: str, now: float | None = None) -> TokenRecord | None:
        """The live access token's record, or None if unknown, expired or revoked."""
        at = time.time() if now is None else now
        record = self.lookup(token)
        if record is None or record.kind != "access" or not record.active(at):
            return None
        if record.last_used_at is None or at - record.last_used_at >= LAST_USED_RESOLUTION:
            await self._db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?",
                                   (int(at), record.id))
        return record

    async def refresh(self, refresh_token: str, client_id: str, scope: tuple[str, ...] | None,
                      *, access_lifetime: int, refresh_lifetime: int,
                      now: float | None = None) -> IssuedTokens:
        """Rotate a refresh token: the old one stops working, a new pair is issued."""
        at = int(time.time() if now is None else now)
        record = self.lookup(refresh_token)
        if record is None or record.kind != "refresh":
            raise InvalidGrant("the refresh token is not valid")
        if record.rotated_at is not None:
            revoked = await self.revoke_family(record.family_id, at)
            raise InvalidGrant(f"the refresh token was already used; {revoked} token(s) of "
                               "this sign-in were revoked")
        if not record.active(at):
            raise InvalidGrant("the refresh token has expired or was revoked")
        if record.client_id != client_id:
            raise InvalidGrant("client_id does not match the refresh token")
        granted = record.scope if scope is None else scope
        if not set(granted) <= set(record.scope) or not granted:
            raise InvalidScope("the scope must be a non-empty part of the original scope")
        # Rotation and the new pair are one transaction: a concurrent reuse that revokes
        # the family lands either before it (and this fails) or after (and takes the pair).
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE tokens SET rotated_at = ?, last_used_at = ? "
                "WHERE id = ? AND rotated_at IS NULL AND revoked_at IS NULL",
                (at, at, record.id))
            if changed == 1:
                template = replace(record, scope=granted, created_at=at)
                return await self._insert(tx, template, access_lifetime, refresh_lifetime,
                                          record.id)
        await self.revoke_family(record.family_id, at)  # a concurrent use rotated it first
        raise InvalidGrant("the refresh token was already used")

    async def revoke_token(self, token: str, now: float | None = None) -> bool:
        """RFC 7009: revoke an access or refresh token; a refresh token takes its family."""
        record = self.lookup(token)
        if record is None:
            return False
        if record.kind == "refresh":
            await self.revoke_family(record.family_id, now)
        else:
            await self.revoke_ids([record.id], now)
        return True

    async def revoke_family(self, family_id: str, now: float | None = None) -> int:
        at = int(time.time() if now is None else now)
        return await self._db.execute(
            "UPDATE tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            (at, family_id))

    async def revoke_ids(self, ids: list[str], now: float | None = None) -> int:
        """Revoke tokens by id; a refresh token's whole family goes with it."""
        at = int(time.time() if now is None else now)
        count = 0
        for token_id in ids:
            count += await self._db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND (id = ? OR "
                "family_id IN (SELECT family_id FROM tokens WHERE id = ? AND kind = 'refresh'))",
                (at, token_id, token_id))
        return count

    async def find(self, *, me: str | None = None, client_id: str | None = None,
                   include_inactive: bool = False, now: float | None = None
                   ) -> list[TokenRecord]:
        at = int(time.time() if now is None else now)
        clauses: list[str] = ["1 = 1"]
        params: list[object] = []
        if me is not None:
            clauses.append("me = ?")
            params.append(me)
        if client_id is not None:
            clauses.append("client_id = ?")
            params.append(client_id)
        if not include_inactive:
            clauses.append("revoked_at IS NULL AND rotated_at IS NULL "
                           "AND (expires_at IS NULL OR expires_at > ?)")
            params.append(at)
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM tokens WHERE {' AND '.join(clauses)} "
            "ORDER BY created_at DESC, id", params)
        return [_record(row) for row in rows]
