"""Handlers for the service pages: the home page and the health check."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from gondulf.indieauth.endpoints import metadata_url
from gondulf.services.outside.dns import VERIFY_VALUE, verification_name
from gondulf.storage.records import Health
from gondulf.web.keys import SERVICES, SETTINGS
from gondulf.web.responses import NO_STORE, json_response, page

log = logging.getLogger("gondulf.web")
HEALTH_TIMEOUT = 3.0


async def health(request: web.Request) -> web.Response:
    """200 when the database can be read and written, 503 with the reason when it cannot.

    A write that merely waits for another writer is healthy (`"write": "busy"`).
    """
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            state = await request.app[SERVICES].health.current()
    except TimeoutError:
        state = Health(read=f"no answer within {HEALTH_TIMEOUT:g} s", write="not checked")
    body = {
        "status": "healthy" if state.ok else "unhealthy",
        "database": {"read": state.read, "write": state.write},
    }
    if not state.ok:
        log.error("health check failed: read %s; write %s", state.read, state.write)
    return json_response(body, status=200 if state.ok else 503, headers=NO_STORE)


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
