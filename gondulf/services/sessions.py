"""Pending sign-ins, kept in the database and keyed by the digest of a cookie value.

A session holds the client's request, what the person's homepage said, the
digest of the emailed code and how many times a code was tried. The cookie
carries the only copy of the session id.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Any

from gondulf.indieauth.clients import ClientInfo
from gondulf.indieauth.request import AuthorizationRequest
from gondulf.services.digests import keyed_digest, new_secret, same, token_digest
from gondulf.storage.database import Database

SESSION_LIFETIME = 3600
MAX_CODE_ATTEMPTS = 3


@dataclass(frozen=True)
class AuthSession:
    id_hash: str
    request: AuthorizationRequest
    csrf: str
    me: str | None
    emails: tuple[str, ...]
    email: str | None
    profile: dict[str, Any] | None
    client: ClientInfo | None
    attempts: int
    verified: bool


class CodeCheck:
    RIGHT = "right"
    WRONG = "wrong"
    EXHAUSTED = "exhausted"  # the last allowed try was wrong, or none is left
    EXPIRED = "expired"  # no live code: never sent, expired or already used


def _session(row: Any) -> AuthSession:
    return AuthSession(
        id_hash=row["id_hash"],
        request=AuthorizationRequest.from_json(row["request"]),
        csrf=row["csrf_secret"],
        me=row["me"],
        emails=tuple(json.loads(row["emails"] or "[]")),
        email=row["email"],
        profile=json.loads(row["profile"]) if row["profile"] else None,
        client=ClientInfo.from_json(row["client"]) if row["client"] else None,
        attempts=row["attempts"],
        verified=row["verified_at"] is not None,
    )


class AuthSessionStore:
    def __init__(self, db: Database, secret_key: str) -> None:
        self._db = db
        self._key = secret_key

    async def create(self, request: AuthorizationRequest, client: ClientInfo | None,
                     now: float | None = None) -> tuple[str, AuthSession]:
        """A new session and the id for its cookie (stored only as a digest)."""
        at = int(time.time() if now is None else now)
        session_id = new_secret()
        session = AuthSession(token_digest(session_id), request, new_secret(), None, (), None,
                              None, client, attempts=0, verified=False)
        await self._db.execute(
            "INSERT INTO auth_sessions (id_hash, created_at, expires_at, request, csrf_secret, "
            "client) VALUES (?, ?, ?, ?, ?, ?)",
            (session.id_hash, at, at + SESSION_LIFETIME, request.to_json(), session.csrf,
             client.to_json() if client else None),
        )
        return session_id, session

    async def get(self, session_id: str, now: float | None = None) -> AuthSession | None:
        at = int(time.time() if now is None else now)
        row = await self._db.fetchone(
            "SELECT * FROM auth_sessions WHERE id_hash = ? AND expires_at > ?",
            (token_digest(session_id), at),
        )
        return _session(row) if row else None

    async def reload(self, session: AuthSession) -> AuthSession | None:
        row = await self._db.fetchone(
            "SELECT * FROM auth_sessions WHERE id_hash = ?", (session.id_hash,))
        return _session(row) if row else None

    async def set_identity(self, session: AuthSession, me: str, emails: tuple[str, ...],
                           profile: dict[str, Any] | None) -> AuthSession | None:
        """What the homepage said; any earlier code is dropped. None if the session is gone."""
        changed = await self._db.execute(
            "UPDATE auth_sessions SET me = ?, emails = ?, profile = ?, email = NULL, "
            "code_hash = NULL, code_expires_at = NULL, attempts = 0, verified_at = NULL "
            "WHERE id_hash = ?",
            (me, json.dumps(list(emails)), json.dumps(profile) if profile else None,
             session.id_hash),
        )
        return replace(session, me=me, emails=emails, profile=profile, email=None, attempts=0,
                       verified=False) if changed else None

    async def set_code(self, session: AuthSession, email: str, code: str, expires_in: int,
                       now: float | None = None) -> AuthSession | None:
        """A new emailed code replaces any earlier one. None if the session is gone."""
        at = int(time.time() if now is None else now)
        changed = await self._db.execute(
            "UPDATE auth_sessions SET email = ?, code_hash = ?, code_expires_at = ?, "
            "attempts = 0, verified_at = NULL WHERE id_hash = ?",
            (email, keyed_digest(self._key, code), at + expires_in, session.id_hash),
        )
        return replace(session, email=email, attempts=0, verified=False) if changed else None

    async def check_code(self, session: AuthSession, code: str,
                         now: float | None = None) -> str:
        """Spend one of the code's tries and compare in constant time.

        The try is counted before comparing, in one statement, so concurrent
        guesses cannot exceed the limit; a right code is used up at once.
        """
        at = int(time.time() if now is None else now)
        row = await self._db.fetchone(
            "UPDATE auth_sessions SET attempts = attempts + 1 "
            "WHERE id_hash = ? AND code_hash IS NOT NULL AND code_expires_at > ? "
            "AND attempts < ? RETURNING code_hash, attempts",
            (session.id_hash, at, MAX_CODE_ATTEMPTS),
        )
        if row is None:
            current = await self._db.fetchone(
                "SELECT attempts, code_hash FROM auth_sessions WHERE id_hash = ?",
                (session.id_hash,))
            if current is not None and current["code_hash"] is not None \
                    and current["attempts"] >= MAX_CODE_ATTEMPTS:
                return CodeCheck.EXHAUSTED
            return CodeCheck.EXPIRED
        if same(row["code_hash"], keyed_digest(self._key, code)):
            await self._db.execute(
                "UPDATE auth_sessions SET verified_at = ?, code_hash = NULL, "
                "code_expires_at = NULL WHERE id_hash = ?", (at, session.id_hash))
            return CodeCheck.RIGHT
        if row["attempts"] >= MAX_CODE_ATTEMPTS:
            await self._db.execute(
                "UPDATE auth_sessions SET code_hash = NULL, code_expires_at = NULL "
                "WHERE id_hash = ?", (session.id_hash,))
            return CodeCheck.EXHAUSTED
        return CodeCheck.WRONG

    async def delete(self, session: AuthSession) -> None:
        await self._db.execute("DELETE FROM auth_sessions WHERE id_hash = ?", (session.id_hash,))
