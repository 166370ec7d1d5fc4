"""Revocation (RFC 7009): POST /revoke."""

from __future__ import annotations

from aiohttp import web

from gondulf.indieauth.errors import InvalidRequest
from gondulf.web.api_limits import mark_failed
from gondulf.web.forms import api_form
from gondulf.web.keys import SERVICES
from gondulf.web.responses import NO_STORE, json_response


async def revoke(request: web.Request) -> web.Response:
    """200 whether or not the token existed (§2.2); a refresh token takes its family."""
    form = await api_form(request)
    if not form.get("token"):
        raise InvalidRequest("token is required")
    if not await request.app[SERVICES].tokens.revoke_token(form["token"]):
        mark_failed(request)
    return json_response({}, headers=NO_STORE)
