"""Credentials in the Authorization header: a bearer token, or a Basic password."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from gondulf.indieauth.errors import InvalidToken

PRESENTED = web.RequestKey("presented", bool)
SECRET_FIELDS = ("code", "token", "refresh_token")


def presented(request: web.Request) -> bool:
    """Whether the request offered a secret (a token, code or credential): only such a
    call can be a guess, and only its failure counts against the client's address."""
    return PRESENTED in request and request[PRESENTED]


def note_form(request: web.Request, form: dict[str, str]) -> None:
    if any(form.get(name) for name in SECRET_FIELDS):
        request[PRESENTED] = True


def bearer_token(request: web.Request) -> str:
    """RFC 6750 §2.1: the access token, or InvalidToken (401 with WWW-Authenticate)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send the access token as Authorization: Bearer")
    request[PRESENTED] = True
    return token.strip()


def credential(request: web.Request) -> str | None:
    """A resource server's credential: `Bearer CREDENTIAL` or the password of HTTP Basic."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if value.strip():
        request[PRESENTED] = True
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None
