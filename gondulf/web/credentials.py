"""Credentials in the Authorization header: a bearer token, or a Basic password."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from gondulf.indieauth.errors import InvalidToken


def bearer_token(request: web.Request) -> str:
    """RFC 6750 §2.1: the access token, or InvalidToken (401 with WWW-Authenticate)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send the access token as Authorization: Bearer")
    return token.strip()


def credential(request: web.Request) -> str | None:
    """A resource server's credential: `Bearer CREDENTIAL` or the password of HTTP Basic."""
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
