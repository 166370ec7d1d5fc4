"""Code redemption at both endpoints, and token verification for older resource servers."""

from __future__ import annotations

from aiohttp import web

from gondulf.indieauth.errors import InvalidRequest, InvalidToken
from gondulf.services.redemption import profile_response, redeem_code, token_grant
from gondulf.services.tokens import TokenStore
from gondulf.web.api_limits import mark_failed
from gondulf.web.forms import FORM_TYPES, read_form
from gondulf.web.keys import SERVICES
from gondulf.web.responses import NO_STORE, json_response


async def form_of(request: web.Request) -> dict[str, str]:
    if request.content_type not in FORM_TYPES:
        raise InvalidRequest("send the parameters as application/x-www-form-urlencoded")
    return dict(await read_form(request))


async def authorization_code_post(request: web.Request) -> web.Response:
    """POST /authorize: a profile-only redemption (§5.3.2) → `me` and `profile`."""
    grant = await redeem_code(request.app[SERVICES].db, await form_of(request))
    return json_response(profile_response(grant.me, grant.scope, grant.profile),
                         headers=NO_STORE)


async def token_post(request: web.Request) -> web.Response:
    """POST /token: a code or refresh token for tokens (§5.3.3, §5.5); legacy revocation."""
    services = request.app[SERVICES]
    form = await form_of(request)
    if form.get("action") == "revoke":  # older clients revoke at the token endpoint
        if not await TokenStore(services.db).revoke_token(form.get("token", "")):
            mark_failed(request)
        return json_response({}, headers=NO_STORE)
    body = await token_grant(services.db, services.settings, form)
    return json_response(body, headers=NO_STORE)


def bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send the access token as Authorization: Bearer")
    return token.strip()


async def token_get(request: web.Request) -> web.Response:
    """GET /token with a Bearer token: the legacy verification older resource servers use."""
    record = await TokenStore(request.app[SERVICES].db).verify(bearer_token(request))
    if record is None:
        raise InvalidToken("the access token is not valid")
    return json_response({"me": record.me, "client_id": record.client_id,
                          "scope": " ".join(record.scope)}, headers=NO_STORE)
