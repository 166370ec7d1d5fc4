"""The token endpoint's requests (IndieAuth §5.3, §5.5; RFC 6749 §4.1.3, §6).

Parsed before anything is looked up, as the authorization request is:
`authorization_code` (the default when an older client sends no
`grant_type`), `refresh_token`, and the legacy `action=revoke`. The checks a
redeemed code must then pass are here too, apart from any storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gondulf.indieauth import pkce
from gondulf.indieauth.errors import InvalidGrant, InvalidRequest, UnsupportedGrantType
from gondulf.indieauth.scopes import parse_scope
from gondulf.indieauth.urls import InvalidURL, canonical_client_id, canonical_redirect_uri

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant type's name


@dataclass(frozen=True)
class CodeRedemption:
    """`grant_type=authorization_code`: the code and what it must be bound to."""

    code: str
    client_id: str
    redirect_uri: str
    code_verifier: str | None


@dataclass(frozen=True)
class RefreshRequest:
    """`grant_type=refresh_token`, optionally narrowing the scope."""

    refresh_token: str
    client_id: str
    scope: tuple[str, ...] | None


@dataclass(frozen=True)
class LegacyRevocation:
    """`action=revoke&token=...` at the token endpoint, as older clients send."""

    token: str


TokenRequest = CodeRedemption | RefreshRequest | LegacyRevocation


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


def parse_code_redemption(params: Mapping[str, str]) -> CodeRedemption:
    """A code redemption, at the token endpoint or the authorization endpoint (§5.3.1)."""
    grant_type = params.get("grant_type") or AUTHORIZATION_CODE  # older clients send none
    if grant_type != AUTHORIZATION_CODE:
        raise UnsupportedGrantType(f"grant_type {grant_type[:40]!r} is not supported here")
    code = _required(params, "code")
    client_id = _client_id(params)
    try:
        redirect_uri = canonical_redirect_uri(_required(params, "redirect_uri"))
    except InvalidURL as exc:
        raise InvalidRequest(exc.description) from exc
    return CodeRedemption(code, client_id, redirect_uri, params.get("code_verifier") or None)


def parse_token_request(params: Mapping[str, str]) -> TokenRequest:
    """Whatever was posted to the token endpoint, or the OAuthError saying what is wrong."""
    if params.get("action") == "revoke":
        return LegacyRevocation(params.get("token", ""))
    if params.get("grant_type") == REFRESH_TOKEN:
        scope = params.get("scope")
        return RefreshRequest(
            _required(params, REFRESH_TOKEN),
            _client_id(params),
            parse_scope(scope) if scope else None,
        )
    return parse_code_redemption(params)


@dataclass(frozen=True)
class CodeBinding:
    """What the authorization request bound to its code."""

    client_id: str
    redirect_uri: str
    code_challenge: str | None


def check_binding(binding: CodeBinding, redemption: CodeRedemption) -> None:
    """client_id and redirect_uri must equal the request's, and the PKCE verifier its
    challenge (§5.3.2); InvalidGrant otherwise."""
    if binding.client_id != redemption.client_id:
        raise InvalidGrant("client_id does not match the authorization request")
    if binding.redirect_uri != redemption.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    pkce.verify(redemption.code_verifier, binding.code_challenge)
