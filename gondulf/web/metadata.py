"""GET /.well-known/oauth-authorization-server (IndieAuth §4.1.1, RFC 8414)."""

from __future__ import annotations

from aiohttp import web

from gondulf.indieauth.endpoints import EndpointUrls
from gondulf.indieauth.metadata import server_metadata
from gondulf.web.keys import SETTINGS
from gondulf.web.responses import json_response


async def metadata(request: web.Request) -> web.Response:
    issuer = request.app[SETTINGS].issuer
    urls = EndpointUrls.for_issuer(issuer)
    return json_response(
        server_metadata(issuer, documentation=issuer),
        headers={
            "Cache-Control": "public, max-age=3600",
            "Link": f'<{urls.metadata}>; rel="indieauth-metadata"',
            "Access-Control-Allow-Origin": "*",
        },
    )
