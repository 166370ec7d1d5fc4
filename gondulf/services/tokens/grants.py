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
from gondulf.services.tokens.issuing import TokenService
from gondulf.storage.records import GrantsSession, TokenRecord
from gondulf.storage.repositories import GrantsSessions, Tokens

GRANTS_SESSION_LIFETIME = 3600
GRANTS_STATE = "gondulf-grants"


def grants_sign_in_request(issuer: str, grants_url: str) -> AuthorizationRequest:
    """The sign-in to Gondulf itself that opens the grants page."""
    return AuthorizationRequest(
        client_id=issuer,
        redirect_uri=grants_url,
        state=GRANTS_STATE,
        scope=(),
        code_challenge=None,
        code_challenge_method=None,
        me_hint=None,
        profile_only=True,
    )


def grants_client(issuer: str) -> ClientInfo:
    return ClientInfo(issuer, name="Your grants on this server", uri=issuer)


@dataclass(frozen=True)
class Grant:
    family_id: str
    client_id: str
    client_name: str | None
    scope: tuple[str, ...]
    issued_at: int
    last_used_at: int | None


def grants_from(records: list[TokenRecord]) -> list[Grant]:
    """Live tokens grouped into grants (one per family), newest first."""
    families: dict[str, list[TokenRecord]] = {}
    for record in records:
        families.setdefault(record.family_id, []).append(record)
    grants = []
    for family_id, tokens in families.items():
        name = next((t.client_name for t in tokens if t.client_name), None)
        used = [t.last_used_at for t in tokens if t.last_used_at is not None]
        grants.append(
            Grant(
                family_id,
                tokens[0].client_id,
                name,
                tuple(dict.fromkeys(s for t in tokens for s in t.scope)),
                min(t.created_at for t in tokens),
                max(used) if used else None,
            )
        )
    return sorted(grants, key=lambda g: g.issued_at, reverse=True)


class GrantsService:
    def __init__(
        self, sessions: GrantsSessions, tokens: Tokens, token_service: TokenService
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._token_service = token_service

    async def sign_in(self, me: str) -> str:
        """A grants-page session for `me`; returns the id for its cookie."""
        session_id = new_secret()
        now = int(time.time())
        await self._sessions.create(
            GrantsSession(
                token_digest(session_id), me, new_secret(), now + GRANTS_SESSION_LIFETIME
            ),
            now,
        )
        return session_id

    async def session(self, session_id: str) -> GrantsSession | None:
        return await self._sessions.get(token_digest(session_id), int(time.time()))

    async def sign_out(self, session: GrantsSession) -> None:
        await self._sessions.end(session.id_hash)

    async def grants_of(self, me: str) -> list[Grant]:
        """The live grants of exactly the identity `me`, newest first."""
        return grants_from(await self._tokens.find(me=me, active_at=int(time.time())))

    async def revoke(self, me: str, family_id: str) -> bool:
        """End one of `me`'s grants; False when the family is not exactly theirs."""
        if await self._tokens.owners_of_family(family_id) != {me}:
            return False
        await self._token_service.revoke_family(family_id)
        return True
