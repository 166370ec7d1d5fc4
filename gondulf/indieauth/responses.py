"""The bodies Gondulf answers with, and the redirect back to the client.

The redirect carries `iss` (RFC 9207); the token response follows IndieAuth
§5.3.3 and RFC 6749 §5.1, introspection RFC 7662 §2.2 and IndieAuth §6,
userinfo IndieAuth §9.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gondulf.indieauth.errors import InsufficientScope

PROFILE_FIELDS = ("name", "url", "photo")
INACTIVE: dict[str, Any] = {"active": False}


def add_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query, keeping the parameters it already has."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


def profile_response(
    me: str, scope: tuple[str, ...], profile: dict[str, Any] | None
) -> dict[str, Any]:
    """`me`, and `profile` when the profile scope was granted (§5.3.4); the email only
    with the email scope."""
    body: dict[str, Any] = {"me": me}
    if "profile" in scope and profile:
        body["profile"] = {k: v for k, v in profile.items() if k != "email" or "email" in scope}
    return body


def token_response(
    *,
    access_token: str,
    scope: tuple[str, ...],
    expires_in: int,
    me: str,
    profile: dict[str, Any] | None,
    refresh_token: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "scope": " ".join(scope),
        "expires_in": expires_in,
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    return {**body, **profile_response(me, scope, profile)}


def introspection_response(
    *,
    me: str,
    client_id: str,
    scope: tuple[str, ...],
    issued_at: int,
    expires_at: int | None,
    refresh: bool,
) -> dict[str, Any]:
    """An active token; anything else is exactly INACTIVE."""
    body: dict[str, Any] = {
        "active": True,
        "me": me,
        "client_id": client_id,
        "scope": " ".join(scope),
        "iat": issued_at,
        "token_type": "refresh_token" if refresh else "Bearer",
    }
    if expires_at is not None:
        body["exp"] = expires_at
    return body


def verification_response(*, me: str, client_id: str, scope: tuple[str, ...]) -> dict[str, Any]:
    """`GET /token` for older resource servers."""
    return {"me": me, "client_id": client_id, "scope": " ".join(scope)}


def userinfo_response(
    *, me: str, scope: tuple[str, ...], profile: dict[str, Any] | None
) -> dict[str, Any]:
    """The profile granted with the token; InsufficientScope without `profile`."""
    if "profile" not in scope:
        raise InsufficientScope("the access token was not granted the profile scope")
    granted = profile or {}
    body: dict[str, Any] = {key: granted[key] for key in PROFILE_FIELDS if key in granted}
    body.setdefault("url", me)
    if "email" in scope and "email" in granted:
        body["email"] = granted["email"]
    return body
