"""Access and refresh tokens: opaque 256-bit strings, stored only as SHA-256 digests.

Every token of one sign-in shares a family (the digest of its authorization
code). A refresh token is rotated on every use; presenting a rotated one
again means it leaked, so the whole family is revoked (RFC 9700 §4.14.2).
A token check is one indexed read with no worker-thread hop (the storage's
hot path), so a revocation takes effect at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gondulf.indieauth.errors import InvalidGrant, InvalidScope
from gondulf.services.bookkeeping import Bookkeeping
from gondulf.services.digests import new_id, new_secret, token_digest
from gondulf.services.metrics import Metrics
from gondulf.storage.records import NewToken, TokenKind, TokenRecord
from gondulf.storage.repositories import Store

LAST_USED_RESOLUTION = 60  # seconds between writes of a token's last_used_at


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    access: TokenRecord
    refresh_token: str | None = None


def _now(now: float | None) -> int:
    return int(time.time() if now is None else now)


def _new_pair(
    template: TokenRecord, access_lifetime: int, refresh_lifetime: int | None, parent_id: str | None
) -> tuple[IssuedTokens, list[NewToken]]:
    at = template.created_at
    access_token = new_secret()
    access = replace(template, id=new_id(), kind=TokenKind.ACCESS, expires_at=at + access_lifetime)
    rows = [NewToken(access, token_digest(access_token), parent_id)]
    refresh_token = None
    if refresh_lifetime:
        refresh_token = new_secret()
        refresh = replace(
            template, id=new_id(), kind=TokenKind.REFRESH, expires_at=at + refresh_lifetime
        )
        rows.append(NewToken(refresh, token_digest(refresh_token), parent_id))
    return IssuedTokens(access_token, access, refresh_token), rows


class TokenService:
    def __init__(self, store: Store, bookkeeping: Bookkeeping, metrics: Metrics) -> None:
        self._store = store
        self._bookkeeping = bookkeeping
        self._metrics = metrics

    def _issued(self, issued: IssuedTokens) -> IssuedTokens:
        self._metrics.tokens_issued(access=1, refresh=1 if issued.refresh_token else 0)
        return issued

    async def issue(
        self,
        *,
        me: str,
        client_id: str,
        scope: tuple[str, ...],
        profile: dict[str, Any] | None,
        family_id: str,
        access_lifetime: int,
        refresh_lifetime: int | None,
        client_name: str | None = None,
        now: float | None = None,
        store: Store | None = None,
    ) -> IssuedTokens:
        """An access token, and a refresh token beside it when `refresh_lifetime` is set.

        `store` is a transaction to issue them in (code redemption), by default its own.
        """
        template = TokenRecord(
            "",
            TokenKind.ACCESS,
            family_id,
            me,
            client_id,
            scope,
            profile,
            _now(now),
            None,
            client_name,
        )
        issued, rows = _new_pair(template, access_lifetime, refresh_lifetime, None)
        await (store or self._store).tokens.insert(rows)
        return self._issued(issued)

    async def lookup(self, token: str) -> TokenRecord | None:
        """Any token by its value, live or not."""
        return await self._store.tokens.by_hash(token_digest(token))

    async def introspect(self, token: str, now: float | None = None) -> TokenRecord | None:
        """The live token's record, access or refresh (RFC 7662), or None."""
        record = await self.lookup(token)
        active = record is not None and record.active(time.time() if now is None else now)
        self._metrics.token_checked(active)
        return record if active else None

    async def verify(self, token: str, now: float | None = None) -> TokenRecord | None:
        """The live access token's record, or None if unknown, expired or revoked."""
        at = time.time() if now is None else now
        record = await self.lookup(token)
        if record is None or record.kind != TokenKind.ACCESS or not record.active(at):
            self._metrics.token_checked(False)
            return None
        self._metrics.token_checked(True)
        if record.last_used_at is None or at - record.last_used_at >= LAST_USED_RESOLUTION:
            self._bookkeeping.note(
                f"token:{record.id}", lambda: self._store.tokens.touch(record.id, int(at))
            )
        return record

    async def refresh(
        self,
        refresh_token: str,
        client_id: str,
        scope: tuple[str, ...] | None,
        *,
        access_lifetime: int,
        refresh_lifetime: int,
        now: float | None = None,
    ) -> IssuedTokens:
        """Rotate a refresh token: the old one stops working, a new pair is issued."""
        at = _now(now)
        record = await self.lookup(refresh_token)
        if record is None or record.kind != TokenKind.REFRESH:
            raise InvalidGrant("the refresh token is not valid")
        if record.rotated_at is not None:
            revoked = await self.revoke_family(record.family_id, at)
            raise InvalidGrant(
                f"the refresh token was already used; {revoked} token(s) of "
                "this sign-in were revoked"
            )
        if not record.active(at):
            raise InvalidGrant("the refresh token has expired or was revoked")
        if record.client_id != client_id:
            raise InvalidGrant("client_id does not match the refresh token")
        granted = record.scope if scope is None else scope
        if not set(granted) <= set(record.scope) or not granted:
            raise InvalidScope("the scope must be a non-empty part of the original scope")
        # Rotation and the new pair are one transaction: a concurrent reuse that revokes
        # the family lands either before it (and this fails) or after (and takes the pair).
        async with self._store.transaction() as tx:
            if await tx.tokens.rotate(record.id, at):
                template = replace(record, scope=granted, created_at=at, last_used_at=None)
                issued, rows = _new_pair(template, access_lifetime, refresh_lifetime, record.id)
                await tx.tokens.insert(rows)
                return self._issued(issued)
        await self.revoke_family(record.family_id, at)  # a concurrent use rotated it first
        raise InvalidGrant("the refresh token was already used")

    async def revoke_token(self, token: str, now: float | None = None) -> bool:
        """RFC 7009: revoke an access or refresh token; a refresh token takes its family."""
        record = await self.lookup(token)
        if record is None:
            return False
        if record.kind == TokenKind.REFRESH:
            await self.revoke_family(record.family_id, now)
        else:
            await self.revoke_ids([record.id], now)
        return True

    async def revoke_family(self, family_id: str, now: float | None = None) -> int:
        revoked = await self._store.tokens.revoke_family(family_id, _now(now))
        self._metrics.tokens_revoked(revoked)
        return revoked

    async def revoke_ids(self, ids: Sequence[str], now: float | None = None) -> int:
        """Revoke tokens by id; a refresh token's whole family goes with it."""
        revoked = await self._store.tokens.revoke_ids(ids, _now(now))
        self._metrics.tokens_revoked(revoked)
        return revoked

    async def with_id_prefix(self, prefix: str, limit: int = 10) -> list[TokenRecord]:
        """The tokens an ID as typed may mean: its full ID or any start of it."""
        return await self._store.tokens.by_id_prefix(prefix.strip().lower(), limit)

    async def find(
        self,
        *,
        me: str | None = None,
        client_id: str | None = None,
        host: str | None = None,
        include_inactive: bool = False,
        now: float | None = None,
    ) -> list[TokenRecord]:
        return await self._store.tokens.find(
            me=me, client_id=client_id, host=host, active_at=None if include_inactive else _now(now)
        )
