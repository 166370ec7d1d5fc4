"""The token endpoint's grants (IndieAuth §5.3, §5.5) and code redemption at both endpoints.

A code is used up first, in one statement; then client_id, redirect_uri
and the PKCE verifier must equal what the authorization request bound to it.
A code presented twice revokes the tokens it already produced (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gondulf.config import Settings
from gondulf.indieauth import pkce
from gondulf.indieauth.errors import InvalidGrant, InvalidRequest, UnsupportedGrantType
from gondulf.indieauth.scopes import parse_scope
from gondulf.indieauth.urls import InvalidURL, canonical_client_id, canonical_redirect_uri
from gondulf.services.authorization_codes import AuthorizationCodeStore, CodeGrant
from gondulf.services.tokens import IssuedTokens, TokenStore
from gondulf.storage.database import Database

log = logging.getLogger("gondulf.redemption")


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise InvalidRequest(f"{name} is required")
    return value


def _client_id(params: Mapping[str, str]) -> str:
    try:
        return canonical_client_id(_required(params, "client_id"))
    except InvalidURL as exc:
        raise InvalidRequest(exc.description) from exc


async def redeem_code(db: Database, params: Mapping[str, str]) -> CodeGrant:
    grant_type = params.get("grant_type") or "authorization_code"  # older clients send none
    if grant_type != "authorization_code":
        raise UnsupportedGrantType(f"grant_type {grant_type[:40]!r} is not supported here")
    code = _required(params, "code")
    client_id = _client_id(params)
    try:
        redirect_uri = canonical_redirect_uri(_required(params, "redirect_uri"))
    except InvalidURL as exc:
        raise InvalidRequest(exc.description) from exc
    grant = await AuthorizationCodeStore(db).redeem(code)
    if grant is None:
        raise InvalidGrant("the authorization code is not valid")
    if grant.already_used:
        revoked = await TokenStore(db).revoke_family(grant.code_hash)
        log.warning("authorization code for %s replayed; %d token(s) revoked", grant.me,
                    revoked)
        raise InvalidGrant("the authorization code was already used")
    if grant.expired:
        raise InvalidGrant("the authorization code has expired")
    if grant.client_id != client_id:
        raise InvalidGrant("client_id does not match the authorization request")
    if grant.redirect_uri != redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    pkce.verify(params.get("code_verifier") or None, grant.code_challenge)
    return grant


def profile_response(me: str, scope: tuple[str, ...], profile: dict[str, Any] | None
                     ) -> dict[str, Any]:
    """`me`, and `profile` when the profile scope was granted (§5.3.4)."""
    body: dict[str, Any] = {"me": me}
    if "profile" in scope and profile:
        body["profile"] = {k: v for k, v in profile.items() if k != "email" or "email" in scope}
    return body


def _token_body(issued: IssuedTokens, lifetime: int) -> dict[str, Any]:
    record = issued.access
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": " ".join(record.scope),
        "expires_in": lifetime,
    }
    if issued.refresh_token:
        body["refresh_token"] = issued.refresh_token
    return {**body, **profile_response(record.me, record.scope, record.profile)}


async def token_grant(db: Database, settings: Settings, params: Mapping[str, str]
                      ) -> dict[str, Any]:
    """POST /token: `authorization_code` (the default) or `refresh_token`."""
    store = TokenStore(db)
    if params.get("grant_type") == "refresh_token":
        scope = params.get("scope")
        issued = await store.refresh(
            _required(params, "refresh_token"), _client_id(params),
            parse_scope(scope) if scope else None,
            access_lifetime=settings.token_expiry,
            refresh_lifetime=settings.refresh_token_expiry)
        return _token_body(issued, settings.token_expiry)
    grant = await redeem_code(db, params)
    if not grant.scope:
        raise InvalidGrant("no scope was granted, so no access token can be issued; redeem "
                           "this code at the authorization endpoint instead")
    issued = await store.issue(
        me=grant.me, client_id=grant.client_id, scope=grant.scope, profile=grant.profile,
        family_id=grant.code_hash, access_lifetime=settings.token_expiry,
        refresh_lifetime=settings.refresh_token_expiry or None, client_name=grant.client_name)
    return _token_body(issued, settings.token_expiry)
