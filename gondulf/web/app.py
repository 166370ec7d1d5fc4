"""The application factory: the one place the server is wired together."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from gondulf.config import Settings
from gondulf.indieauth.metadata import server_metadata
from gondulf.services.housekeeping import purge_forever
from gondulf.services.runtime import open_services, require_writable
from gondulf.web.client_address import client_origin
from gondulf.web.in_flight import InFlight
from gondulf.web.keys import API_PREFIXES, IN_FLIGHT, METADATA_DOCUMENT, SERVICES, SETTINGS
from gondulf.web.middleware import errors, https_only, security_headers
from gondulf.web.routes import add_routes, advertised_endpoints, api_prefixes, probe_paths

STATIC_DIR = Path(__file__).parent / "static"
MAX_REQUEST_BYTES = 64 * 1024


def create_app(
    settings: Settings, *, client_ssl_context: ssl.SSLContext | None = None
) -> web.Application:
    """The server for `settings`; `client_ssl_context` sets the CAs trusted for outgoing TLS."""
    middlewares: list[Middleware] = [client_origin, errors]
    if not settings.debug and settings.issuer.startswith("https:"):
        middlewares.append(https_only(settings.issuer, probe_paths()))
    app = web.Application(middlewares=middlewares, client_max_size=MAX_REQUEST_BYTES)
    app[SETTINGS] = settings
    app[IN_FLIGHT] = InFlight()
    app[API_PREFIXES] = api_prefixes()
    app[METADATA_DOCUMENT] = server_metadata(
        settings.issuer, advertised_endpoints(settings.issuer), documentation=settings.issuer
    )

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_services(
            settings,
            migrate=True,
            create=True,
            hold_lock=True,
            client_ssl_context=client_ssl_context,
        ) as services:
            await require_writable(services)
            app[SERVICES] = services
            yield

    async def housekeeping_ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(purge_forever(app[SERVICES].store, settings.cleanup_interval))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(services_ctx)
    app.cleanup_ctx.append(housekeeping_ctx)
    app.on_response_prepare.append(security_headers)
    add_routes(app)
    app.router.add_static("/static/", STATIC_DIR, append_version=True, name="static")
    return app
