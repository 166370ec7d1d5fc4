"""Checking tokens for resource servers: introspection (RFC 7662, IndieAuth §6) and the
legacy `GET /token` older resource servers use."""

from __future__ import annotations

from aiohttp import web

from gondulf.indieauth.errors import InvalidClient, InvalidRequest, InvalidToken
from gondulf.indieauth.responses import (
    INACTIVE,
    introspection_response,
    verification_response,
)
from gondulf.storage.records import TokenKind
from gondulf.web.credentials import bearer_token, credential
from gondulf.web.forms import api_form
from gondulf.web.keys import SERVICES
from gondulf.web.responses import NO_STORE, json_response


async def introspect(request: web.Request) -> web.Response:
    """POST /introspect: a resource server's credential, or the token itself, must be sent."""
    services = request.app[SERVICES]
    form = await api_form(request)
    presented = credential(request)
    token = form.get("token", "")
    presenting_itself = presented is not None and presented == token
    if presented is None or not (
        presenting_itself or await services.resource_servers.authenticate(presented)
    ):
        raise InvalidClient(
            "authenticate with a resource server credential (Bearer or Basic) "
            "or present the token itself as Bearer"
        )
    if not token:
        raise InvalidRequest("token is required")
    record = await services.tokens.introspect(token)
    if record is None:
        return json_response(INACTIVE, headers=NO_STORE)
    return json_response(
        introspection_response(
            me=record.me,
            client_id=record.client_id,
            scope=record.scope,
            issued_at=record.created_at,
            expires_at=record.expires_at,
            refresh=record.kind == TokenKind.REFRESH,
        ),
        headers=NO_STORE,
    )


async def token_get(request: web.Request) -> web.Response:
    """GET /token with a Bearer token: the legacy verification."""
    record = await request.app[SERVICES].tokens.verify(bearer_token(request))
    if record is None:
        raise InvalidToken("the access token is not valid")
    return json_response(
        verification_response(me=record.me, client_id=record.client_id, scope=record.scope),
        headers=NO_STORE,
    )
