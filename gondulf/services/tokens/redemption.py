"""Redeeming codes and refresh tokens: the orchestration behind both endpoints.

The request is parsed by the protocol core (gondulf.indieauth.token_request).
A code is used up first, then it must be bound to what is presented; the
tokens are issued in the same transaction, so a crash can never leave a used
code without its tokens. A checked failure still uses the code up. A code
presented twice revokes the tokens it already produced (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from gondulf.config import Settings
from gondulf.indieauth.errors import InvalidGrant, OAuthError
from gondulf.indieauth.responses import profile_response, token_response
from gondulf.indieauth.token_request import (
    CodeBinding,
    CodeRedemption,
    RefreshRequest,
    check_binding,
)
from gondulf.services.digests import token_digest
from gondulf.services.tokens.issuing import IssuedTokens, TokenService
from gondulf.storage.records import CodeRecord, CodeState
from gondulf.storage.repositories import Store

log = logging.getLogger("gondulf.redemption")

NO_SCOPE = (
    "no scope was granted, so no access token can be issued; redeem this code at "
    "the authorization endpoint instead"
)


def _problem(
    found: tuple[CodeRecord, CodeState] | None, redemption: CodeRedemption, need_scope: bool
) -> OAuthError | None:
    if found is None:
        return InvalidGrant("the authorization code is not valid")
    code, state = found
    if state == CodeState.ALREADY_USED:
        return InvalidGrant("the authorization code was already used")
    if state == CodeState.EXPIRED:
        return InvalidGrant("the authorization code has expired")
    try:
        check_binding(
            CodeBinding(code.client_id, code.redirect_uri, code.code_challenge), redemption
        )
    except OAuthError as exc:
        return exc
    if need_scope and not code.scope:
        return InvalidGrant(NO_SCOPE)
    return None


class Redemption:
    def __init__(self, store: Store, tokens: TokenService, settings: Settings) -> None:
        self._store = store
        self._tokens = tokens
        self._settings = settings

    async def _redeem(
        self, redemption: CodeRedemption, *, issue: bool
    ) -> tuple[CodeRecord, IssuedTokens | None]:
        settings = self._settings
        issued = None
        async with self._store.transaction() as tx:
            found = await tx.codes.redeem(token_digest(redemption.code), int(time.time()))
            problem = _problem(found, redemption, need_scope=issue)
            if problem is None and found is not None and issue:
                code = found[0]
                issued = await self._tokens.issue(
                    me=code.me,
                    client_id=code.client_id,
                    scope=code.scope,
                    profile=code.profile,
                    family_id=code.code_hash,
                    access_lifetime=settings.token_expiry,
                    refresh_lifetime=settings.refresh_token_expiry or None,
                    client_name=code.client_name,
                    store=tx,
                )
        if problem is not None:  # the code stays used up: it never counts twice
            if found is not None and found[1] == CodeState.ALREADY_USED:
                revoked = await self._tokens.revoke_family(found[0].code_hash)
                log.warning(
                    "authorization code for %s replayed; %d token(s) revoked", found[0].me, revoked
                )
            raise problem
        assert found is not None
        return found[0], issued

    async def profile(self, redemption: CodeRedemption) -> dict[str, Any]:
        """At the authorization endpoint (§5.3.2): `me`, and `profile` if granted."""
        code, _ = await self._redeem(redemption, issue=False)
        return profile_response(code.me, code.scope, code.profile)

    async def tokens(self, redemption: CodeRedemption) -> dict[str, Any]:
        """At the token endpoint (§5.3.3): an access token (and a refresh token)."""
        _, issued = await self._redeem(redemption, issue=True)
        assert issued is not None
        return self._body(issued)

    async def refresh(self, request: RefreshRequest) -> dict[str, Any]:
        """§5.5: a new pair for a refresh token, which stops working."""
        settings = self._settings
        issued = await self._tokens.refresh(
            request.refresh_token,
            request.client_id,
            request.scope,
            access_lifetime=settings.token_expiry,
            refresh_lifetime=settings.refresh_token_expiry,
        )
        return self._body(issued)

    def _body(self, issued: IssuedTokens) -> dict[str, Any]:
        record = issued.access
        return token_response(
            access_token=issued.access_token,
            scope=record.scope,
            expires_in=self._settings.token_expiry,
            me=record.me,
            profile=record.profile,
            refresh_token=issued.refresh_token,
        )
