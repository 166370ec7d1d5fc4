"""Authorization codes: single use, short-lived, bound to the request they answer.

Only the code's digest is stored. Redemption uses the code up in the step
that finds it, so of two concurrent redemptions exactly one wins.
"""

from __future__ import annotations

import time
from typing import Any

from gondulf.indieauth.request import AuthorizationRequest
from gondulf.services.digests import new_secret, token_digest
from gondulf.storage.records import CodeRecord, CodeState
from gondulf.storage.repositories import AuthorizationCodes


class AuthorizationCodeService:
    def __init__(self, codes: AuthorizationCodes) -> None:
        self._codes = codes

    async def issue(
        self,
        request: AuthorizationRequest,
        me: str,
        scope: tuple[str, ...],
        profile: dict[str, Any] | None,
        lifetime: int,
        client_name: str | None = None,
        now: float | None = None,
    ) -> str:
        at = int(time.time() if now is None else now)
        code = new_secret()
        await self._codes.insert(
            CodeRecord(
                token_digest(code),
                request.client_id,
                request.redirect_uri,
                me,
                scope,
                request.code_challenge,
                request.code_challenge_method,
                profile,
                client_name,
                at,
                at + lifetime,
            )
        )
        return code

    async def redeem(
        self, code: str, now: float | None = None
    ) -> tuple[CodeRecord, CodeState] | None:
        """Use the code up. None if unknown; the state says whether this call counted."""
        return await self._codes.redeem(
            token_digest(code), int(time.time() if now is None else now)
        )
