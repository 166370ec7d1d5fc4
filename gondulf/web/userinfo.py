"""Userinfo (IndieAuth §9): GET /userinfo with a token holding the profile scope."""

from __future__ import annotations

from aiohttp import web

from gondulf.indieauth.errors import InvalidToken
from gondulf.indieauth.responses import userinfo_response
from gondulf.web.credentials import bearer_token
from gondulf.web.keys import SERVICES
from gondulf.web.responses import NO_STORE, json_response


async def userinfo(request: web.Request) -> web.Response:
    record = await request.app[SERVICES].tokens.verify(bearer_token(request))
    if record is None:
        raise InvalidToken("the access token is not valid")
    body = userinfo_response(me=record.me, scope=record.scope, profile=record.profile)
    return json_response(body, headers=NO_STORE)
