"""Redeeming codes and refresh tokens: POST /authorize (§5.3.2) and POST /token (§5.3.3,
§5.5), and the legacy `action=revoke` older clients send to the token endpoint."""

from __future__ import annotations

from aiohttp import web

from gondulf.indieauth.token_request import (
    CodeRedemption,
    LegacyRevocation,
    parse_code_redemption,
    parse_token_request,
)
from gondulf.web.api_limits import mark_failed
from gondulf.web.forms import api_form
from gondulf.web.keys import SERVICES
from gondulf.web.responses import NO_STORE, json_response


async def authorization_code_post(request: web.Request) -> web.Response:
    """POST /authorize: a profile-only redemption → `me` and `profile`."""
    redemption = parse_code_redemption(await api_form(request))
    body = await request.app[SERVICES].redemption.profile(redemption)
    return json_response(body, headers=NO_STORE)


async def token_post(request: web.Request) -> web.Response:
    """POST /token: a code or refresh token for tokens; legacy revocation."""
    services = request.app[SERVICES]
    token_request = parse_token_request(await api_form(request))
    if isinstance(token_request, LegacyRevocation):
        if not await services.tokens.revoke_token(token_request.token):
            mark_failed(request)
        return json_response({}, headers=NO_STORE)
    if isinstance(token_request, CodeRedemption):
        body = await services.redemption.tokens(token_request)
    else:
        body = await services.redemption.refresh(token_request)
    return json_response(body, headers=NO_STORE)
