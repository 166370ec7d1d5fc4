"""Pending sign-ins, kept in the database and keyed by the digest of a cookie value.

A session holds the client's request, the identity being proven, what the
homepage said and the state of the proof under way. Every change is a
compare-and-set on the revision the change was decided from: `save` writes
only if nobody changed the session meanwhile, so no interleaving of requests
on one session can mix two identities. The cookie carries the only copy of
the session id.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Any

from gondulf.indieauth.clients import ClientInfo
from gondulf.indieauth.request import AuthorizationRequest
from gondulf.services.digests import new_secret, token_digest
from gondulf.services.email_proof import EmailProof
from gondulf.storage.database import Database, Row

SESSION_LIFETIME = 3600


@dataclass(frozen=True)
class AuthSession:
    id_hash: str
    revision: int
    request: AuthorizationRequest
    csrf: str
    client: ClientInfo | None
    me: str | None = None
    profile: dict[str, Any] | None = None
    proof: EmailProof | None = None
    verified: bool = False


def _session(row: Row) -> AuthSession:
    return AuthSession(
        id_hash=row["id_hash"],
        revision=row["revision"],
        request=AuthorizationRequest.from_json(row["request"]),
        csrf=row["csrf_secret"],
        client=ClientInfo.from_json(row["client"]) if row["client"] else None,
        me=row["me"],
        profile=json.loads(row["profile"]) if row["profile"] else None,
        proof=EmailProof.from_json(row["proof"]) if row["proof"] else None,
        verified=row["verified_at"] is not None,
    )


class AuthSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, request: AuthorizationRequest, client: ClientInfo | None,
                     now: float | None = None) -> tuple[str, AuthSession]:
        """A new session and the id for its cookie (stored only as a digest)."""
        at = int(time.time() if now is None else now)
        session_id = new_secret()
        session = AuthSession(token_digest(session_id), 0, request, new_secret(), client)
        await self._db.execute(
            "INSERT INTO auth_sessions (id_hash, created_at, expires_at, request, csrf_secret, "
            "client) VALUES (?, ?, ?, ?, ?, ?)",
            (session.id_hash, at, at + SESSION_LIFETIME, request.to_json(), session.csrf,
             client.to_json() if client else None),
        )
        return session_id, session

    async def get(self, session_id: str, now: float | None = None) -> AuthSession | None:
        return await self._by_digest(token_digest(session_id), now)

    async def reload(self, session: AuthSession, now: float | None = None
                     ) -> AuthSession | None:
        return await self._by_digest(session.id_hash, now)

    async def _by_digest(self, id_hash: str, now: float | None) -> AuthSession | None:
        at = int(time.time() if now is None else now)
        row = await self._db.fetchone(
            "SELECT * FROM auth_sessions WHERE id_hash = ? AND expires_at > ?", (id_hash, at))
        return _session(row) if row else None

    async def save(self, decided_from: AuthSession, new: AuthSession,
                   now: float | None = None) -> AuthSession | None:
        """Write `new` if the session is still at `decided_from`'s revision.

        Returns the session as written, or None when it changed meanwhile (or is gone).
        """
        at = int(time.time() if now is None else now)
        changed = await self._db.execute(
            "UPDATE auth_sessions SET revision = revision + 1, me = ?, profile = ?, proof = ?, "
            "verified_at = ? WHERE id_hash = ? AND revision = ? AND expires_at > ?",
            (new.me, json.dumps(new.profile) if new.profile else None,
             new.proof.to_json() if new.proof else None, at if new.verified else None,
             decided_from.id_hash, decided_from.revision, at),
        )
        return replace(new, revision=decided_from.revision + 1) if changed else None

    async def consume(self, session: AuthSession) -> bool:
        """End the session if it is still at this revision; True if this call ended it."""
        return await self._db.execute(
            "DELETE FROM auth_sessions WHERE id_hash = ? AND revision = ?",
            (session.id_hash, session.revision)) == 1
