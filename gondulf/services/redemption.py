"""Redeeming an authorization code (IndieAuth §5.3) at either endpoint.

The code is used up first, in one statement; then client_id, redirect_uri
and the PKCE verifier must equal what the authorization request bound to it.
A code presented twice revokes the tokens it already produced (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gondulf.indieauth import pkce
from gondulf.indieauth.errors import InvalidGrant, InvalidRequest, UnsupportedGrantType
from gondulf.indieauth.urls import InvalidURL, canonical_client_id, canonical_redirect_uri
from gondulf.services.authorization_codes import AuthorizationCodeStore, CodeGrant
from gondulf.services.tokens import TokenStore
from gondulf.storage.database import Database

log = logging.getLogger("gondulf.redemption")


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise InvalidRequest(f"{name} is required")
    return value


async def redeem_code(db: Database, params: Mapping[str, str]) -> CodeGrant:
    grant_type = params.get("grant_type") or "authorization_code"  # older clients send none
    if grant_type != "authorization_code":
        raise UnsupportedGrantType(f"grant_type {grant_type[:40]!r} is not supported")
    code = _required(params, "code")
    try:
        client_id = canonical_client_id(_required(params, "client_id"))
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


def profile_response(grant: CodeGrant) -> dict[str, Any]:
    """`me`, and `profile` when the profile scope was granted (§5.3.4)."""
    body: dict[str, Any] = {"me": grant.me}
    if "profile" in grant.scope and grant.profile:
        body["profile"] = {k: v for k, v in grant.profile.items()
                           if k != "email" or "email" in grant.scope}
    return body


async def token_response(db: Database, grant: CodeGrant, lifetime: int) -> dict[str, Any]:
    """§5.3.3: an access token, unless no scope was granted."""
    if not grant.scope:
        raise InvalidGrant("no scope was granted, so no access token can be issued; redeem "
                           "this code at the authorization endpoint instead")
    issued = await TokenStore(db).issue_access(
        me=grant.me, client_id=grant.client_id, scope=grant.scope,
        family_id=grant.code_hash, lifetime=lifetime)
    return {
        "access_token": issued.token,
        "token_type": "Bearer",
        "scope": " ".join(grant.scope),
        "expires_in": lifetime,
        **profile_response(grant),
    }
