"""Pending sign-ins, keyed by the digest of a cookie value.

A session holds the client's request, the identity being proven, what the
homepage said and the state of the proof under way. Every change is a
compare-and-set on the revision the change was decided from: `save` writes
only if nobody changed the session meanwhile, so no interleaving of requests
on one session can mix two identities. The cookie carries the only copy of
the session id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from gondulf.indieauth.clients import ClientInfo
from gondulf.indieauth.request import AuthorizationRequest
from gondulf.services.digests import new_secret, token_digest
from gondulf.services.signin.problems import Note, SignInProblem, changed, expired
from gondulf.services.signin.proofs import ProofLoader, ProofState
from gondulf.storage.records import SignInRecord
from gondulf.storage.repositories import SignInSessions

SESSION_LIFETIME = 3600


@dataclass(frozen=True)
class AuthSession:
    id_hash: str
    revision: int
    expires_at: int
    request: AuthorizationRequest
    csrf: str
    client: ClientInfo | None
    me: str | None = None
    profile: dict[str, Any] | None = None
    proof: ProofState | None = None
    verified: bool = False
    note: Note | None = None  # what the page says about the last form


def _session(record: SignInRecord, load_proof: ProofLoader) -> AuthSession:
    return AuthSession(
        record.id_hash,
        record.revision,
        record.expires_at,
        record.request,
        record.csrf,
        record.client,
        record.me,
        record.profile,
        load_proof(record.proof) if record.proof else None,
        record.verified,
        Note.from_json(record.note) if record.note else None,
    )


def _record(session: AuthSession) -> SignInRecord:
    return SignInRecord(
        session.id_hash,
        session.revision,
        session.expires_at,
        session.request,
        session.client,
        session.csrf,
        session.me,
        session.profile,
        session.proof.to_json() if session.proof else None,
        session.verified,
        session.note.to_json() if session.note else None,
    )


def _now(now: float | None) -> int:
    return int(time.time() if now is None else now)


class AuthSessionStore:
    def __init__(self, sessions: SignInSessions, load_proof: ProofLoader) -> None:
        self._sessions = sessions
        self._load_proof = load_proof

    async def create(
        self, request: AuthorizationRequest, client: ClientInfo | None, now: float | None = None
    ) -> tuple[str, AuthSession]:
        """A new session and the id for its cookie (stored only as a digest)."""
        at = _now(now)
        session_id = new_secret()
        session = AuthSession(
            token_digest(session_id), 0, at + SESSION_LIFETIME, request, new_secret(), client
        )
        await self._sessions.create(_record(session), at)
        return session_id, session

    async def get(self, session_id: str, now: float | None = None) -> AuthSession | None:
        record = await self._sessions.get(token_digest(session_id), _now(now))
        return _session(record, self._load_proof) if record else None

    async def reload(self, session: AuthSession, now: float | None = None) -> AuthSession | None:
        record = await self._sessions.get(session.id_hash, _now(now))
        return _session(record, self._load_proof) if record else None

    async def save(
        self, decided_from: AuthSession, new: AuthSession, now: float | None = None
    ) -> AuthSession | None:
        """Write `new` if the session is still at `decided_from`'s revision.

        Returns the session as written, or None when it changed meanwhile (or is gone).
        """
        if await self._sessions.save(decided_from.revision, _record(new), _now(now)):
            return replace(new, revision=decided_from.revision + 1)
        return None

    async def consume(self, session: AuthSession) -> bool:
        """End the session if it is still at this revision; True if this call ended it."""
        return await self._sessions.consume(session.id_hash, session.revision)

    async def update(self, decided_from: AuthSession, new: AuthSession) -> AuthSession:
        """`save`, or the problem to show when the session changed (or ended) meanwhile."""
        saved = await self.save(decided_from, new)
        if saved is None:
            raise await self._lost(decided_from)
        return saved

    async def note(self, session: AuthSession, note: Note | None) -> None:
        """What the sign-in's page says about the form just handled. Another window's
        change meanwhile wins: its page is the one to show, without this note."""
        if note != session.note:
            await self.save(session, replace(session, note=note))

    async def end(self, session: AuthSession) -> None:
        """`consume`, or the problem to show when the session changed (or ended) meanwhile."""
        if not await self.consume(session):
            raise await self._lost(session)

    async def _lost(self, session: AuthSession) -> SignInProblem:
        return changed() if await self.reload(session) is not None else expired()
