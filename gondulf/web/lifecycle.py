"""Introspection (RFC 7662), revocation (RFC 7009) and userinfo (IndieAuth §9)."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from aiohttp import web

from gondulf.indieauth.errors import InsufficientScope, InvalidClient, InvalidRequest, InvalidToken
from gondulf.services.resource_servers import ResourceServerStore
from gondulf.services.tokens import TokenStore
from gondulf.web.api_limits import mark_failed
from gondulf.web.keys import SERVICES
from gondulf.web.responses import NO_STORE, json_response
from gondulf.web.token import bearer_token, form_of

INACTIVE = {"active": False}


def _credential(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


async def introspect(request: web.Request) -> web.Response:
    """POST /introspect: a resource server's credential, or the token itself, must be sent."""
    db = request.app[SERVICES].db
    form = await form_of(request)
    credential = _credential(request)
    token = form.get("token", "")
    presenting_itself = credential is not None and credential == token
    if credential is None or not (presenting_itself or
                                  await ResourceServerStore(db).authenticate(credential)):
        raise InvalidClient("authenticate with a resource server credential (Bearer or Basic) "
                            "or present the token itself as Bearer")
    if not token:
        raise InvalidRequest("token is required")
    record = TokenStore(db).lookup(token)
    if record is None or not record.active(time.time()):
        return json_response(INACTIVE, headers=NO_STORE)
    body: dict[str, Any] = {
        "active": True, "me": record.me, "client_id": record.client_id,
        "scope": " ".join(record.scope), "iat": record.created_at,
        "token_type": "Bearer" if record.kind == "access" else "refresh_token",
    }
    if record.expires_at is not None:
        body["exp"] = record.expires_at
    return json_response(body, headers=NO_STORE)


async def revoke(request: web.Request) -> web.Response:
    """POST /revoke: 200 whether or not the token existed (RFC 7009 §2.2)."""
    form = await form_of(request)
    if not form.get("token"):
        raise InvalidRequest("token is required")
    if not await TokenStore(request.app[SERVICES].db).revoke_token(form["token"]):
        mark_failed(request)
    return json_response({}, headers=NO_STORE)


async def userinfo(request: web.Request) -> web.Response:
    """GET /userinfo: the profile granted with the token."""
    record = await TokenStore(request.app[SERVICES].db).verify(bearer_token(request))
    if record is None:
        raise InvalidToken("the access token is not valid")
    if "profile" not in record.scope:
        raise InsufficientScope("the access token was not granted the profile scope")
    profile = record.profile or {}
    body: dict[str, Any] = {key: profile[key] for key in ("name", "url", "photo")
                            if key in profile}
    body.setdefault("url", record.me)
    if "email" in record.scope and "email" in profile:
        body["email"] = profile["email"]
    return json_response(body, headers=NO_STORE)
