"""The grants page: a person's own sign-ins to apps, and the sessions of that page.

A grant is one sign-in to one app: every token descended from its
authorization code (one family). A person sees and ends the grants of exactly
the identity (profile URL) they proved, with the same DNS + emailed code proof
as any sign-in: `https://shared.example/~bob/` never sees those of
`https://shared.example/`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gondulf.indieauth.clients import ClientInfo
from gondulf.indieauth.request import AuthorizationRequest
from gondulf.services.digests import new_secret, token_digest
from gondulf.services.tokens import TokenRecord, TokenStore
from gondulf.storage.database import Database

GRANTS_SESSION_LIFETIME = 3600
GRANTS_STATE = "gondulf-grants"


def grants_sign_in_request(issuer: str, grants_url: str) -> AuthorizationRequest:
    """The sign-in to Gondulf itself that opens the grants page."""
    return AuthorizationRequest(client_id=issuer, redirect_uri=grants_url, state=GRANTS_STATE,
                                scope=(), code_challenge=None, code_challenge_method=None,
                                me_hint=None, profile_only=True)


def grants_client(issuer: str) -> ClientInfo:
    return ClientInfo(issuer, name="Your grants on this server", uri=issuer)


@dataclass(frozen=True)
class GrantsSession:
    id_hash: str
    me: str
    csrf: str


@dataclass(frozen=True)
class Grant:
    family_id: str
    client_id: str
    client_name: str | None
    scope: tuple[str, ...]
    issued_at: int
    last_used_at: int | None


class GrantsSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, me: str) -> str:
        session_id = new_secret()
        now = int(time.time())
        await self._db.execute(
            "INSERT INTO grant_sessions (id_hash, me, csrf_secret, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (token_digest(session_id), me, new_secret(), now, now + GRANTS_SESSION_LIFETIME))
        return session_id

    async def get(self, session_id: str) -> GrantsSession | None:
        row = await self._db.fetchone(
            "SELECT id_hash, me, csrf_secret FROM grant_sessions "
            "WHERE id_hash = ? AND expires_at > ?", (token_digest(session_id), int(time.time())))
        return GrantsSession(row["id_hash"], row["me"], row["csrf_secret"]) if row else None

    async def end(self, session: GrantsSession) -> None:
        await self._db.execute("DELETE FROM grant_sessions WHERE id_hash = ?",
                               (session.id_hash,))


async def grants_of(db: Database, me: str) -> list[Grant]:
    """The live grants of exactly the identity `me` (never of others on its host), newest
    first."""
    records = await TokenStore(db).find(me=me)
    families: dict[str, list[TokenRecord]] = {}
    for record in records:
        families.setdefault(record.family_id, []).append(record)
    grants = []
    for family_id, tokens in families.items():
        first = tokens[0]
        name = next((t.client_name for t in tokens if t.client_name), None)
        used = [t.last_used_at for t in tokens if t.last_used_at is not None]
        grants.append(Grant(family_id, first.client_id, name,
                            tuple(dict.fromkeys(s for t in tokens for s in t.scope)),
                            min(t.created_at for t in tokens), max(used) if used else None))
    return sorted(grants, key=lambda g: g.issued_at, reverse=True)


async def revoke_grant(db: Database, me: str, family_id: str) -> bool:
    """End one of `me`'s grants; False when the family is not exactly theirs."""
    rows = await db.fetchall("SELECT me FROM tokens WHERE family_id = ?", (family_id,))
    if not rows or any(row["me"] != me for row in rows):
        return False
    await TokenStore(db).revoke_family(family_id)
    return True
