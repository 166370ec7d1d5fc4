"""GET /.well-known/oauth-authorization-server (IndieAuth §4.1.1, RFC 8414)."""

from __future__ import annotations

from aiohttp import web

from gondulf.indieauth.endpoints import METADATA_REL, metadata_url
from gondulf.web.keys import METADATA_DOCUMENT, SETTINGS
from gondulf.web.responses import json_response


async def metadata(request: web.Request) -> web.Response:
    """The document built once with the app, from the route table (gondulf.web.routes)."""
    return json_response(
        request.app[METADATA_DOCUMENT],
        headers={
            "Cache-Control": "public, max-age=3600",
            "Link": f'<{metadata_url(request.app[SETTINGS].issuer)}>; rel="{METADATA_REL}"',
            "Access-Control-Allow-Origin": "*",
        },
    )
