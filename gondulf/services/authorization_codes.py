"""Authorization codes: single use, short-lived, bound to the request they answer.

Redemption marks the code used in the same statement that finds it
(`UPDATE … RETURNING`), so of two concurrent redemptions exactly one wins.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from gondulf.indieauth.request import AuthorizationRequest
from gondulf.services.digests import new_secret, token_digest
from gondulf.storage.database import Database


@dataclass(frozen=True)
class CodeGrant:
    code_hash: str
    client_id: str
    redirect_uri: str
    me: str
    scope: tuple[str, ...]
    code_challenge: str | None
    profile: dict[str, Any] | None
    client_name: str | None
    expired: bool
    already_used: bool


class AuthorizationCodeStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue(self, request: AuthorizationRequest, me: str, scope: tuple[str, ...],
                    profile: dict[str, Any] | None, lifetime: int,
                    client_name: str | None = None, now: float | None = None) -> str:
        at = int(time.time() if now is None else now)
        code = new_secret()
        await self._db.execute(
            "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, me, scope, "
            "code_challenge, code_challenge_method, profile, client_name, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (token_digest(code), request.client_id, request.redirect_uri, me, " ".join(scope),
             request.code_challenge, request.code_challenge_method,
             json.dumps(profile) if profile else None, client_name, at, at + lifetime),
        )
        return code

    async def redeem(self, code: str, now: float | None = None) -> CodeGrant | None:
        """Use the code up. None if unknown; `already_used`/`expired` say why it cannot count."""
        at = int(time.time() if now is None else now)
        digest = token_digest(code)
        row = await self._db.fetchone(
            "UPDATE authorization_codes SET used_at = ? "
            "WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING *",
            (at, digest, at),
        )
        if row is not None:
            return _grant(row, expired=False, used=False)
        row = await self._db.fetchone(
            "SELECT * FROM authorization_codes WHERE code_hash = ?", (digest,))
        if row is None:
            return None
        return _grant(row, expired=row["expires_at"] <= at, used=row["used_at"] is not None)


def _grant(row: Any, *, expired: bool, used: bool) -> CodeGrant:
    return CodeGrant(
        code_hash=row["code_hash"],
        client_id=row["client_id"],
        redirect_uri=row["redirect_uri"],
        me=row["me"],
        scope=tuple(row["scope"].split()),
        code_challenge=row["code_challenge"],
        profile=json.loads(row["profile"]) if row["profile"] else None,
        client_name=row["client_name"],
        expired=expired,
        already_used=used,
    )
