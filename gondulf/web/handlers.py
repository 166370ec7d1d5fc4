"""Handlers for the service pages: the home page and the health check."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from gondulf.errors import DatabaseError
from gondulf.indieauth.endpoints import metadata_url
from gondulf.services.outside.dns import VERIFY_VALUE, verification_name
from gondulf.web.keys import SERVICES, SETTINGS
from gondulf.web.responses import NO_STORE, json_response, page

log = logging.getLogger("gondulf.web")
HEALTH_TIMEOUT = 3.0


async def health(request: web.Request) -> web.Response:
    """200 when the database answers, 503 when it does not (for load balancers)."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await request.app[SERVICES].store.ping()
    except (DatabaseError, TimeoutError) as exc:
        log.error("health check failed: %s", exc)
        return json_response(
            {"status": "unhealthy", "database": "unavailable"}, status=503, headers=NO_STORE
        )
    return json_response({"status": "healthy", "database": "connected"}, headers=NO_STORE)


async def home(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return page(
        request,
        "home.html",
        cacheable=True,
        metadata_url=metadata_url(settings.issuer),
        record_name=verification_name("example.com"),
        record_value=VERIFY_VALUE,
    )
